#!/usr/bin/env bash
# How long a run takes when every dependency is silent (issue #12): whole datanode, metasrv
# and frontend configs against servers that accept TCP and never answer ("hung") or that drop
# the SYN ("black-holed"), with the default first-answer deadline (5 s) unless a scenario says
# otherwise. Prints per scenario: the deadline, the wall time, their ratio, the bound, the
# silence each failing check named, and pass/fail against the target:
#   wall <= 10 s  and  wall <= 1.2 x deadline + process start
# where "process start" is the median wall time of three runs of a config with no dependency
# (a frontend without [meta_client]: config, listen addresses, report).
#
#   bash scripts/bench-dead-path.sh
#   ROUNDS=3 bash scripts/bench-dead-path.sh     # each scenario 3 times, the median shown
#   GST_BIN=path/to/greptime-self-test bash scripts/bench-dead-path.sh   # no build
#
# Needs only bash and python3 (for the listeners and to read the JSON report); builds the
# release binary (cargo build --release) into ${CARGO_TARGET_DIR:-target}. The listeners live
# on 127.0.0.1 and die with the script. A black-holed port is a listener whose accept queue is
# full (listen backlog 0, one connection parked in it): Linux then drops further SYNs, as a
# firewall that drops packets does, and no root is needed. Exit status 1 when a scenario fails.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-1}"

if [ -n "${GST_BIN:-}" ]; then
  bin="$GST_BIN" # a binary built otherwise (a debug build is slower to start: say so with figures)
else
  cargo build --release --locked -q --bin greptime-self-test
  bin="${CARGO_TARGET_DIR:-$PWD/target}/release/greptime-self-test"
fi
[ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 2; }

work="$(mktemp -d)"
listeners_pid=""
cleanup() {
  [ -n "$listeners_pid" ] && kill "$listeners_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The listeners, one per argument: `hung` accepts and holds every connection without a byte,
# `hole` never completes a TCP handshake. Their ports go to $work/ports, in order, on one line.
python3 - hung hung hung hung hung hung hole hole hole hole >"$work/ports" <<'PY' &
import selectors, socket, sys

kinds = sys.argv[1:]
sel = selectors.DefaultSelector()
keep = []
ports = []
for kind in kinds:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    if kind == "hole":
        s.listen(0)
        keep.append(socket.create_connection(("127.0.0.1", port)))
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", port))
            sys.exit(f"port {port} still completes connections: no black hole on this kernel")
        except socket.timeout:
            pass
        probe.close()
    else:
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    keep.append(s)
    ports.append(str(port))
print(" ".join(ports), flush=True)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        keep.append(conn)
PY
listeners_pid=$!
for _ in $(seq 100); do [ -s "$work/ports" ] && break; sleep 0.05; done
[ -s "$work/ports" ] || { echo "the listeners did not start" >&2; exit 2; }
read -r h1 h2 h3 h4 h5 h6 b1 b2 b3 b4 <"$work/ports"

# Config files.
datanode() { # metasrv, s3 url, kafka
  cat <<EOF
node_id = 1
[meta_client]
metasrv_addrs = ["$1"]
[grpc]
bind_addr = "127.0.0.1:0"
[http]
addr = "127.0.0.1:0"
[storage]
type = "S3"
bucket = "gst-bench"
root = "dead-path"
endpoint = "$2"
region = "us-east-1"
access_key_id = "gst-bench"
secret_access_key = "gst-bench-secret"
[wal]
provider = "kafka"
broker_endpoints = ["$3"]
EOF
}
metasrv() { # backend, store address, kafka
  cat <<EOF
backend = "$1"
store_addrs = ["$2"]
[grpc]
bind_addr = "127.0.0.1:0"
[http]
addr = "127.0.0.1:0"
[wal]
provider = "kafka"
broker_endpoints = ["$3"]
EOF
}
frontend() { # metasrv, or nothing for no [meta_client]
  if [ -n "${1:-}" ]; then printf '[meta_client]\nmetasrv_addrs = ["%s"]\n' "$1"; fi
  printf '[grpc]\nbind_addr = "127.0.0.1:0"\n[http]\naddr = "127.0.0.1:0"\n'
  printf '[mysql]\nenable = false\n[postgres]\nenable = false\n'
}

l=127.0.0.1
datanode "$l:$h1" "http://$l:$h2" "$l:$h3" >"$work/datanode-hung.toml"
datanode "$l:$b1" "http://$l:$b2" "$l:$b3" >"$work/datanode-hole.toml"
metasrv etcd_store "$l:$h4" "$l:$h3" >"$work/metasrv-etcd-hung.toml"
metasrv postgres_store "host=$l port=$h5 user=gst password=gst-bench-pw dbname=meta" "$l:$h3" \
  >"$work/metasrv-pg-hung.toml"
metasrv mysql_store "mysql://gst:gst-bench-pw@$l:$h6/meta" "$l:$h3" >"$work/metasrv-mysql-hung.toml"
metasrv mysql_store "mysql://gst:gst-bench-pw@$l:$b4/meta" "$l:$b3" >"$work/metasrv-mysql-hole.toml"
frontend "$l:$h1" >"$work/frontend-hung.toml"
frontend >"$work/frontend-none.toml"

# Runs one component on one config; prints "<wall seconds> <exit code>" and leaves the JSON
# report in $work/last.json.
run_once() { # component config [args…]
  local component=$1 config=$2
  shift 2
  local start end code=0
  start=$(date +%s.%N)
  (cd "$work" && NO_COLOR=1 "$bin" "$component" -c "$config" --output json "$@" \
    >"$work/last.json" 2>"$work/last.err") || code=$?
  end=$(date +%s.%N)
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}', sys.argv[3])" \
    "$start" "$end" "$code"
}

# Median of the numbers given.
median() {
  python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "$@"
}

# The failing checks of $work/last.json as id=no_answer, and whether each named a silence and
# stderr held no dependency-crate line.
verdicts() {
  python3 - "$work/last.json" "$work/last.err" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
stderr = open(sys.argv[2]).read()
failed = [c for c in report["checks"] if c["status"] in ("fail", "error")]
named = [f'{c["id"]}={c.get("metrics", {}).get("no_answer", "NONE")}' for c in failed]
noisy = [l for l in stderr.splitlines()
         if re.search(r"\b(opendal|reqwest|sqlx\w*|tokio_postgres|tonic|h2|hyper\w*|tower|rskafka|etcd_client|rustls)\b|backtrace", l, re.I)]
ok = bool(failed) and all(not n.endswith("=NONE") for n in named) and not noisy
print(("ok" if ok else "BAD") + " " + ",".join(named) + (f" stderr:{len(noisy)}-dependency-lines" if noisy else ""))
PY
}

echo "machine: $(nproc) cores, $(uname -sr), $(python3 -c 'import platform; print(platform.processor() or platform.machine())')"
echo "binary: $bin ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"

starts=()
for _ in 1 2 3; do
  read -r wall _ < <(run_once frontend "$work/frontend-none.toml")
  starts+=("$wall")
done
start=$(median "${starts[@]}")
echo "process start (frontend, no dependency, median of 3): ${start}s"
echo

printf '%-44s %8s %8s %6s %8s  %-6s %s\n' scenario deadline wall ratio bound result verdicts
failed=0
scenario() { # name deadline-seconds component config [args…]
  local name=$1 deadline=$2 component=$3 config=$4
  shift 4
  local walls=() wall code verdict
  for _ in $(seq "$rounds"); do
    read -r wall code < <(run_once "$component" "$work/$config" "$@")
    walls+=("$wall")
  done
  wall=$(median "${walls[@]}")
  verdict=$(verdicts)
  local bound ratio result
  bound=$(python3 -c "import sys; print(f'{min(10.0, 1.2 * float(sys.argv[1]) + float(sys.argv[2])):.2f}')" "$deadline" "$start")
  ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$wall" "$deadline")
  if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$wall" "$bound" \
    && [ "$code" = 3 ] && [ "${verdict%% *}" = ok ]; then
    result=pass
  else
    result=FAIL
    failed=1
  fi
  printf '%-44s %7ss %7ss %6s %7ss  %-6s %s\n' "$name" "$deadline" "$wall" "$ratio" "$bound" \
    "$result" "exit $code ${verdict#* }"
}

scenario "datanode: metasrv, S3, Kafka hung" 5 datanode datanode-hung.toml
scenario "datanode: metasrv, S3, Kafka black-holed" 5 datanode datanode-hole.toml
scenario "datanode: all hung, --answer-timeout 2s" 2 datanode datanode-hung.toml --answer-timeout 2s
scenario "metasrv: etcd, Kafka hung" 5 metasrv metasrv-etcd-hung.toml
scenario "metasrv: PostgreSQL, Kafka hung" 5 metasrv metasrv-pg-hung.toml
scenario "metasrv: MySQL, Kafka hung" 5 metasrv metasrv-mysql-hung.toml
scenario "metasrv: MySQL, Kafka black-holed" 5 metasrv metasrv-mysql-hole.toml
scenario "frontend: metasrv hung" 5 frontend frontend-hung.toml
exit "$failed"
