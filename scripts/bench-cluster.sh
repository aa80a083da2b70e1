#!/usr/bin/env bash
# Scale benchmark of `greptime-self-test cluster`: generates inventories of 1, 10 and 50 nodes
# against the local test servers and prints wall time and peak RSS of each run.
#
#   bash scripts/bench-cluster.sh               # starts the test servers if they are not up
#   RUNS=5 SIZES="1 10 50 100" WORKLOADS="full distinct" bash scripts/bench-cluster.sh
#
# The nodes are real workloads: metasrvs on etcd (probe keys written and removed), datanodes
# with S3 storage on SeaweedFS (objects written, read, listed, deleted) and a Kafka WAL on tansu
# (brokers, topics, API versions), frontends and flownodes. Their metasrv addresses point at a
# closed local port (no metasrv binary runs here), so those checks fail at once: the exit code
# is 3 and is ignored; the figures are about time and memory, not verdicts. Each size is run
# RUNS times (default 3); printed are the median wall time, the median CPU time of the tool and
# of the test servers during the run (all on this machine's cores), and the largest peak RSS;
# the table is also written to target/bench/cluster.md. KEEP=1 keeps the generated inventories.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-3}
sizes=${SIZES:-1 10 50}

[ -x /usr/bin/time ] || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends time >/dev/null
}
env_file=${GST_SVC_DIR:-/tmp/gst-svc}/env
bash scripts/services.sh status >/dev/null 2>&1 || bash scripts/services.sh start
set -a
# shellcheck disable=SC1090
source "$env_file"
set +a
cargo build --release --locked -q
bin="$root/target/release/greptime-self-test"
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

# One node's TOML. $1 = component, $2 = index.
node_toml() {
  local component=$1 i=$2
  case $component in
    metasrv)
      cat <<EOF
backend = "etcd_store"
store_addrs = ["$GST_ETCD_ENDPOINT"]
[grpc]
bind_addr = "0.0.0.0:3002"
server_addr = "10.0.1.$i:3002"
[http]
addr = "0.0.0.0:4000"
EOF
      ;;
    datanode)
      cat <<EOF
node_id = $i
[grpc]
bind_addr = "0.0.0.0:3001"
server_addr = "10.0.2.$i:3001"
[meta_client]
metasrv_addrs = ["127.0.0.1:9"]
[wal]
provider = "kafka"
broker_endpoints = ["$GST_KAFKA_BROKER"]
[storage]
type = "$storage"
bucket = "$GST_S3_BUCKET"
root = "$(storage_root "$i")"
endpoint = "$GST_S3_ENDPOINT"
region = "$GST_S3_REGION"
access_key_id = "$GST_S3_RW_KEY"
secret_access_key = "$GST_S3_RW_SECRET"
EOF
      ;;
    frontend | flownode)
      cat <<EOF
node_id = $i
[grpc]
bind_addr = "0.0.0.0:4001"
server_addr = "10.0.3.$i:4001"
[meta_client]
metasrv_addrs = ["127.0.0.1:9"]
EOF
      ;;
  esac
}

# The storage root of datanode $1: one for all (a real cluster's datanodes share their store)
# or, in the distinct workload, one per node, so no probe can be shared.
storage_root() {
  if [ "$workload" = distinct ]; then echo "bench-cluster/node-$1"; else echo bench-cluster; fi
}

# An inventory of $1 nodes: 3 metasrvs (fewer for tiny sizes), a frontend and a flownode per
# ten nodes, datanodes for the rest; every node on a host of its own.
inventory() {
  local n=$1 dir="$work/$workload-n$1" i component
  mkdir -p "$dir"
  {
    echo "version: 1"
    echo "name: bench-$n"
    echo "nodes:"
  } >"$dir/cluster.yaml"
  for ((i = 0; i < n; i++)); do
    if ((n == 1)); then component=datanode
    elif ((i < 3 && n >= 10)); then component=metasrv
    elif ((i % 10 == 3)); then component=frontend
    elif ((i % 10 == 4)); then component=flownode
    else component=datanode
    fi
    node_toml "$component" "$((i + 1))" >"$dir/node-$i.toml"
    printf '  - name: %s-%d\n    component: %s\n    config: node-%d.toml\n    host: host-%d\n' \
      "$component" "$i" "$component" "$i" "$i" >>"$dir/cluster.yaml"
  done
  echo "$dir/cluster.yaml"
}

# CPU seconds (user + system) the test servers have used so far, from /proc.
servers_cpu() {
  local tck pid total=0 fields
  tck=$(getconf CLK_TCK)
  for pid in $(cut -d' ' -f1 "${GST_SVC_DIR:-/tmp/gst-svc}"/pids/* 2>/dev/null); do
    [ -r "/proc/$pid/stat" ] || continue
    # utime and stime are fields 14 and 15; the command name (field 2) has no spaces here
    read -r -a fields <"/proc/$pid/stat"
    total=$((total + fields[13] + fields[14]))
  done
  awk -v t="$total" -v h="$tck" 'BEGIN { printf "%.2f", t / h }'
}

# The median of its arguments (numbers).
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

mkdir -p target/bench
table="target/bench/cluster.md"
{
  echo "| workload | nodes | checks | wall time | tool CPU | servers' CPU | peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$table"
# One table row: RUNS runs of `cluster -f` on an inventory of $2 nodes in workload $1.
measure() {
  local workload=$1 n=$2 file r before after wall rss user sys checks peak=0
  local walls=() tools=() servers=()
  file=$(inventory "$n")
  for ((r = 0; r < runs; r++)); do
    before=$(servers_cpu)
    /usr/bin/time -f '%e %M %U %S' -o "$work/time" \
      "$bin" cluster -f "$file" --output json >"$work/report.json" 2>"$work/stderr" || true
    after=$(servers_cpu)
    # GNU time writes "Command exited with non-zero status N" first; the figures are last
    read -r wall rss user sys < <(tail -n 1 "$work/time")
    walls+=("$wall")
    tools+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
    servers+=("$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')")
    if ((rss > peak)); then peak=$rss; fi
  done
  checks=$(python3 -c 'import json,sys; print(sum(r["counts"]["total"] for r in json.load(open(sys.argv[1]))))' "$work/report.json")
  awk -v workload="$workload" -v n="$n" -v c="$checks" -v w="$(median "${walls[@]}")" \
    -v t="$(median "${tools[@]}")" -v s="$(median "${servers[@]}")" -v kib="$peak" \
    'BEGIN { printf "| %s | %d | %d | %.2f s | %.2f s | %.2f s | %.1f MiB |\n", workload, n, c, w, t, s, kib / 1024 }'
}

# full: datanodes on one S3 store (SeaweedFS), as a real cluster's datanodes are: the cluster
# run probes it (writes, reads, lists, deletes) once and shares the outcome, as it does the
# etcd and Kafka checks; distinct: each datanode on a root of its own, so every datanode's probe
# runs and the servers' work grows with the node count; light: datanodes on File storage, whose
# probe a cluster run skips for non-local nodes, so the tool's own cost shows
for workload in ${WORKLOADS:-full distinct light}; do
  storage=$([ "$workload" = light ] && echo File || echo S3)
  for n in $sizes; do
    measure "$workload" "$n" >>"$table"
  done
done
echo "(medians of $runs runs; peak RSS is the largest; tool and servers' CPU are user + system seconds)" >>"$table"
cat "$table"
