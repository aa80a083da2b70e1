#!/usr/bin/env bash
# Prerequisites, installed only when missing. Always: protoc and the well-known protobuf
# includes from Debian (etcd-client and our metasrv proto are compiled at build time). With
# --test, also what the test suite alone needs: xmllint (JUnit XSD validation), shellcheck
# (the scripts), unshare, ip and iptables (tests/dead_path.rs makes a network namespace with a
# black-holed port), kubernetes-validate (the example manifests' schemas) and jsonschema with
# PyYAML (the project's own JSON Schemas, checked by an independent validator).
#
#   bash scripts/prereqs.sh          # to build (scripts/example.sh)
#   bash scripts/prereqs.sh --test   # to build and test (scripts/test.sh)
set -euo pipefail
missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || missing+=(libprotobuf-dev)
for_tests=${1:-}
if [ "$for_tests" = --test ]; then
  command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
  command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
  # root's PATH has /usr/sbin; look there too, as the test's namespace shell does
  PATH="$PATH:/usr/sbin:/sbin" command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
  PATH="$PATH:/usr/sbin:/sbin" command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  PATH="$PATH:/usr/sbin:/sbin" command -v iptables >/dev/null 2>&1 || missing+=(iptables)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# venv_with VENV MODULE REQUIREMENT...: a venv of its own holding the pinned REQUIREMENTs from
# PyPI, made unless its Python already imports MODULE (Debian's Python refuses system-wide pip
# installs). The tests know these paths.
venv_with() {
  local venv=$1 module=$2
  shift 2
  if "$venv/bin/python" -c "import $module" >/dev/null 2>&1; then
    return
  fi
  echo "==> installing $* from PyPI into $venv"
  if ! /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  fi
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}
if [ "$for_tests" = --test ]; then
  # The Kubernetes JSON schemas that tests/examples.rs validates the example manifests against
  # (PyPI's kubernetes-validate ships them, per Kubernetes version, for offline use).
  venv_with /var/cache/greptime-self-test/venv-kubernetes-validate-1.37.0 kubernetes_validate \
    kubernetes-validate==1.37.0
  # An independent JSON Schema validator (draft 2020-12) and YAML reader: tests/schema_validate.rs
  # checks schemas/*.schema.json against the playbooks, inventories and reports, as an editor's
  # yaml-language-server would. Every package pinned, dependencies included.
  venv_with /var/cache/greptime-self-test/venv-jsonschema-4.26.0 'jsonschema, yaml' \
    jsonschema==4.26.0 PyYAML==6.0.3 attrs==26.1.0 jsonschema-specifications==2025.9.1 \
    referencing==0.37.0 rpds-py==2026.9.1 typing-extensions==4.16.0
fi
# What scripts/test-deb.sh checks the installed .deb with: man-db (`man -w`) and bash-completion
# (its loader and, through pkg-config, its completions directory). scripts/package-deb.sh
# installs cargo-deb itself.
if [ "$for_tests" = --test ]; then
  deb_missing=()
  command -v man >/dev/null 2>&1 || deb_missing+=(man-db)
  command -v pkg-config >/dev/null 2>&1 || deb_missing+=(pkg-config)
  [ -f /usr/share/bash-completion/bash_completion ] || deb_missing+=(bash-completion)
  if [ ${#deb_missing[@]} -gt 0 ]; then
    echo "==> installing ${deb_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${deb_missing[@]}" >/dev/null
  fi
fi
