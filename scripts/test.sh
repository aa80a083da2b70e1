#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine (as root): installs what is missing,
# starts every service the tests need, runs formatting, lint and all tests, stops the services.
#
#   bash scripts/test.sh
#
# `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prereqs.sh --test

if [ -x scripts/services.sh ]; then
  echo "==> starting test services"
  scripts/services.sh start
  trap 'scripts/services.sh stop' EXIT
  # Endpoints and credentials for the tests (GST_* variables).
  set -a
  # shellcheck disable=SC1091
  source "${GST_SVC_DIR:-/tmp/gst-svc}/env"
  set +a
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --locked --all-targets
