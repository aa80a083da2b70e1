#!/usr/bin/env bash
# Build prerequisites from Debian, installed only when missing: protoc and the well-known
# protobuf includes (etcd-client generates its gRPC code at build time).
set -euo pipefail
missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || missing+=(libprotobuf-dev)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Kubernetes JSON schemas that tests/examples.rs validates the example manifests against
# (PyPI's kubernetes-validate ships them, per Kubernetes version, for offline use).
if ! python3 -c 'import kubernetes_validate' >/dev/null 2>&1; then
  echo "==> installing kubernetes-validate from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    kubernetes-validate==1.37.0
fi
