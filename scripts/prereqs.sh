#!/usr/bin/env bash
# Prerequisites, installed only when missing. Always: protoc and the well-known protobuf
# includes from Debian (etcd-client and our metasrv proto are compiled at build time). With
# --test, also what the test suite alone needs: xmllint (JUnit XSD validation), shellcheck
# (the scripts), unshare, ip and iptables (tests/dead_path.rs makes a network namespace with a
# black-holed port) and kubernetes-validate (the example manifests' schemas).
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
# The Kubernetes JSON schemas that tests/examples.rs validates the example manifests against
# (PyPI's kubernetes-validate ships them, per Kubernetes version, for offline use), in a venv of
# its own: Debian's Python refuses system-wide pip installs. tests/examples.rs knows this path.
K8S_VENV=/var/cache/greptime-self-test/venv-kubernetes-validate-1.37.0
if [ "$for_tests" = --test ] && ! "$K8S_VENV/bin/python" -c 'import kubernetes_validate' >/dev/null 2>&1; then
  echo "==> installing kubernetes-validate from PyPI into $K8S_VENV"
  if ! /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  fi
  rm -rf "$K8S_VENV"
  mkdir -p "$(dirname "$K8S_VENV")"
  /usr/bin/python3 -m venv "$K8S_VENV"
  "$K8S_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    kubernetes-validate==1.37.0
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
