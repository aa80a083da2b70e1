#!/usr/bin/env bash
# Overhead benchmark: wall time of the standalone and datanode playbooks next to a bare
# process start (`--version`) and `true`, with hyperfine (installed from Debian if missing).
#
#   bash scripts/bench.sh            # prints a table; results also in target/bench/overhead.md
#
# The datanode run uses the project's example config, whose metasrvs (127.0.0.11-13:3002) and
# S3 endpoint (127.0.0.1:9000) are not running: connection refused is immediate. The standalone
# config uses File storage, so its run writes, fsyncs, reads back and deletes the object-store
# probe's objects (a 6 MiB multipart write among them) on this machine's disk; the --read-only
# run does none of that and shows the runner's own cost.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null 2>&1 || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends hyperfine >/dev/null
}
cargo build --release --locked -q
bin="$PWD/target/release/greptime-self-test"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p target/bench
cd "$work"
hyperfine --warmup 3 --runs 30 -N --ignore-failure \
  --export-markdown "$OLDPWD/target/bench/overhead.md" \
  -n 'true' 'true' \
  -n 'process start (--version)' "$bin --version" \
  -n 'standalone playbook' "$bin standalone -c $OLDPWD/examples/standalone.toml" \
  -n 'standalone playbook, --read-only' "$bin standalone -c $OLDPWD/examples/standalone.toml --read-only" \
  -n 'datanode playbook (metasrv and S3 down)' "$bin datanode -c $OLDPWD/examples/datanode.toml"
