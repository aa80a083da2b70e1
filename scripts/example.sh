#!/usr/bin/env bash
# Builds the tool and runs it on an example that needs no outside server.
#
#   bash scripts/example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
exec cargo run --release --locked -- standalone -c examples/standalone.toml
