#!/usr/bin/env bash
# object_store.bench next to rclone on the same S3 server, object size, object set and
# concurrency, measured the same way, printed side by side in MiB/s with the ratio.
#
#   bash scripts/services.sh start && bash scripts/bench-object-store.sh
#   SIZE_MIB=8 CONCURRENCY=8 DURATION=20s ROUNDS=5 bash scripts/bench-object-store.sh
#
# Each of ROUNDS rounds runs, one after the other:
# 1. object_store.bench (release build): PUTs of SIZE_MIB objects by CONCURRENCY workers for
#    WARMUP + DURATION, then GETs of those objects (cycled) for as long; its figure is the
#    median of its 1-second segments after the warm-up.
# 2. rclone, like for like, on as many objects of the same size (hard links of one random file
#    on tmpfs, so no disk is read):
#    - PUT: `rclone copy` with CONCURRENCY transfers, single-part PUTs as the step makes, no
#      listing or HEAD of the destination, no check after the upload. The source is that
#      directory served by `rclone serve http`, a remote without checksums: rclone then sends
#      no Content-MD5, as OpenDAL sends none. From local files rclone 1.60 MD5-hashes every
#      single-part upload for its Content-MD5 header, whatever --s3-disable-checksum says; that
#      run is printed too ("PUT+MD5").
#    - GET: `rclone hashsum crc32 --download` with CONCURRENCY checkers reads the objects and
#      discards them (no disk write, no MD5), through a `combine` remote that shows the set K
#      times, so it reads as many bytes as the step did.
#    rclone's figure is the median of its 1-second `--stats` segments after WARMUP with all
#    CONCURRENCY transfers in flight (start-up, listing and tail left out, as the step leaves
#    out its warm-up).
# 3. From /proc: CPU seconds per GiB of each client (the http source counted as rclone's) and of
#    the SeaweedFS process, and the cores that other processes of the machine took meanwhile
#    (busy CPU time minus client and server, over the wall time): client and server share the
#    machine's cores, and on a shared machine a run that others slow down is not comparable.
# The table gives each round and the median over the rounds; the ratio is step / rclone.
#
# Endpoint and keys come from the services' env file ($GST_SVC_DIR/env, default
# /tmp/gst-svc/env): GST_S3_ENDPOINT, GST_S3_BUCKET, GST_S3_REGION, GST_S3_RW_KEY/SECRET; the
# SeaweedFS pid from $GST_SVC_DIR/pids/seaweedfs. rclone, jq, curl and GNU time are installed
# from Debian if missing. Every side deletes what it wrote and SeaweedFS is asked to vacuum
# after each (GST_WEED_MASTER, default the master port scripts/services.sh pins), so at most
# one object set (about (WARMUP + DURATION) x the PUT rate: 2.5 GiB with the defaults on 2
# cores) sits on the server's disk at a time. No secret is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
svc="${GST_SVC_DIR:-/tmp/gst-svc}"
envfile="$svc/env"
[ -f "$envfile" ] || { echo "no $envfile: start scripts/services.sh first" >&2; exit 2; }
set -a
# shellcheck disable=SC1090 # written by scripts/services.sh start
. "$envfile"
set +a
for v in GST_S3_ENDPOINT GST_S3_BUCKET GST_S3_REGION GST_S3_RW_KEY GST_S3_RW_SECRET; do
  [ -n "${!v:-}" ] || { echo "$v is not set in $envfile" >&2; exit 2; }
done
missing=()
for tool in rclone jq curl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cargo build --release --locked -q
bin="$PWD/target/release/greptime-self-test"

SIZE_MIB=${SIZE_MIB:-16} CONCURRENCY=${CONCURRENCY:-4} DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s} MAX_BYTES=${MAX_BYTES:-4GiB} ROUNDS=${ROUNDS:-3}
warmup_s=${WARMUP%s}
master=${GST_WEED_MASTER:-http://127.0.0.1:29333}
weed_pid=$(awk '{print $1}' "$svc/pids/seaweedfs" 2>/dev/null || true)
[ -n "$weed_pid" ] && [ -r "/proc/$weed_pid/stat" ] || { echo "SeaweedFS is not running" >&2; exit 2; }

work=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
chmod 700 "$work"
run=$$-$RANDOM
serve_pid=
# AWS_CA_BUNDLE (set on some hosts) makes Debian's rclone refuse to start (LoadCustomCABundleError)
rclone_cmd=(env -u AWS_CA_BUNDLE rclone --config "$work/rclone.conf")
vacuum() { curl -s -m 120 "$master/vol/vacuum?garbageThreshold=0.01" >/dev/null 2>&1 || true; }
purge() { "${rclone_cmd[@]}" purge "s3:$GST_S3_BUCKET/$1" >/dev/null 2>&1 || true; vacuum; }
cleanup() {
  [ -z "$serve_pid" ] || kill "$serve_pid" 2>/dev/null || true
  [ -f "$work/rclone.conf" ] && purge "gst-rclone-$run"
  rm -rf "$work"
  vacuum
}
trap cleanup EXIT
vacuum

# CPU seconds (user + system) of live processes so far
cpu() {
  local t=0 p
  for p in "$@"; do
    t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{ print t + ($14 + $15) / hz }' "/proc/$p/stat" 2>/dev/null || echo "$t")
  done
  echo "$t"
}
# busy and total jiffies of all CPUs so far
jiffies() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# measure NAME [PID...] -- CMD...: runs CMD under GNU time; writes $work/NAME.cpu as "client-s
# server-s others-cores" (the PIDs' CPU counts as the client's)
measure() {
  local name=$1 extra=() w0 j0 x0 status=0; shift
  while [ "$1" != -- ]; do extra+=("$1"); shift; done; shift
  w0=$(cpu "$weed_pid"); j0=$(jiffies); x0=$(cpu "${extra[@]}")
  /usr/bin/time -f "%U %S %e" -o "$work/$name.time" "$@" || status=$?
  awk -v w="$(cpu "$weed_pid") $w0" -v j="$(jiffies) $j0" -v x="$(cpu "${extra[@]}") $x0" \
    -v t="$(tail -1 "$work/$name.time")" -v hz="$(getconf CLK_TCK)" -v cores="$(nproc)" 'BEGIN {
      split(w, W, " "); split(j, J, " "); split(x, X, " "); split(t, T, " ")
      client = T[1] + T[2] + X[1] - X[2]; server = W[1] - W[2]
      busy = (J[1] - J[3]) / (J[2] - J[4]) * cores * T[3]
      printf "%f %f %f\n", client, server, (busy - client - server) / T[3] }' >"$work/$name.cpu"
  return "$status"
}
# per_gib NAME BYTES: "client s/GiB, server s/GiB, others' cores" of a measurement
per_gib() { awk -v g="$2" '{ g /= 1073741824; printf "%.2f %.2f %.2f", $1 / g, $2 / g, ($3 < 0 ? 0 : $3) }' "$work/$1.cpu"; }
# median of 1-second rclone --stats segments after the warm-up with every transfer in flight
segments() {
  jq -r 'select(.stats) | "\(.stats.elapsedTime) \(.stats.bytes) \(.stats.transferring // [] | length)"' "$1" |
    awk -v c="$CONCURRENCY" -v w="$warmup_s" '
      NR > 1 && pt >= w && pn == c && $3 == c { print ($2 - pb) / ($1 - pt) / 1048576 }
      { pt = $1; pb = $2; pn = $3 }' |
    sort -g | awk '{ v[++n] = $1 } END { if (n) printf "%.1f\n", v[int(n / 2) + 1]; else print "-" }'
}
# median of the numbers on stdin, printed with FORMAT
median() { tr ' ' '\n' | grep -v '^-\?$' | sort -g | awk -v f="$1" '{ v[++n] = $1 } END { if (n) printf f, v[int(n / 2) + 1]; else printf "-" }'; }

cat >"$work/bench.yaml" <<EOF
version: 1
name: bench_object_store
component: datanode
description: object_store.bench against the services' SeaweedFS S3
checks:
  - id: bench
    title: object store latency and throughput
    step:
      type: object_store.bench
      with:
        store:
          type: S3
          bucket: "$GST_S3_BUCKET"
          root: gst-bench-$run
          endpoint: "$GST_S3_ENDPOINT"
          region: "$GST_S3_REGION"
          access_key_id: "$GST_S3_RW_KEY"
          secret_access_key: "$GST_S3_RW_SECRET"
          disable_ec2_metadata: true
        object_size: ${SIZE_MIB}MiB
        concurrency: $CONCURRENCY
        duration: $DURATION
        warmup: $WARMUP
        max_bytes: $MAX_BYTES
    timeout: 300s
EOF
mkdir -p "$work/up"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$work/one"
port=
for p in $(seq 29970 29999); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
[ -n "$port" ] || { echo "no free port in 29970-29999 for rclone serve http" >&2; exit 1; }
stats=(--stats 1s --use-json-log --stats-log-level NOTICE -v)
put_flags=(--transfers "$CONCURRENCY" --checkers "$CONCURRENCY" --s3-upload-cutoff 5G
  --s3-disable-checksum --ignore-checksum --no-check-dest --no-traverse --retries 1)
get_flags=(--download --checkers "$CONCURRENCY" --retries 1)

declare -a rows
for r in $(seq 1 "$ROUNDS"); do
  # 1. the step
  measure "ours$r" -- sh -c 'cd "$1" && exec "$2" run bench.yaml --output json --timeout 6m >"report$3.json"' \
    sh "$work" "$bin" "$r" || { jq -r '.checks[0].message' "$work/report$r.json" >&2; exit 1; }
  vacuum
  m() { jq -r ".checks[0].metrics.$1" "$work/report$r.json"; }
  if [ "$r" = 1 ]; then
    # the object set of every round: as many objects as the step's first PUT phase wrote,
    # read K times, so rclone moves as many bytes as the step did
    n=$(m put_objects)
    [ "$n" -gt 0 ] || { echo "the step wrote no throughput object" >&2; exit 1; }
    set_bytes=$((n * SIZE_MIB * 1024 * 1024))
    k=$(( ($(m bytes_read) + set_bytes - 1) / set_bytes )); [ "$k" -ge 1 ] || k=1
    for i in $(seq 1 "$n"); do ln "$work/one" "$work/up/obj-$i"; done
    cat >"$work/rclone.conf" <<EOF
[s3]
type = s3
provider = Other
access_key_id = $GST_S3_RW_KEY
secret_access_key = $GST_S3_RW_SECRET
endpoint = $GST_S3_ENDPOINT
region = $GST_S3_REGION
force_path_style = true
no_check_bucket = true

[files]
type = http
url = http://127.0.0.1:$port/

[setk]
type = combine
upstreams = $(for i in $(seq 1 "$k"); do printf 'c%d=s3:%s/gst-rclone-%s/put ' "$i" "$GST_S3_BUCKET" "$run"; done)
EOF
    "${rclone_cmd[@]}" serve http "$work/up" --addr "127.0.0.1:$port" --log-file "$work/serve.log" &
    serve_pid=$!
    for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  fi
  # 2. rclone
  measure "md5$r" -- "${rclone_cmd[@]}" copy "${put_flags[@]}" "${stats[@]}" --log-file "$work/md5$r.log" \
    "$work/up" "s3:$GST_S3_BUCKET/gst-rclone-$run/md5"
  purge "gst-rclone-$run"
  measure "put$r" "$serve_pid" -- "${rclone_cmd[@]}" copy "${put_flags[@]}" "${stats[@]}" \
    --log-file "$work/put$r.log" files: "s3:$GST_S3_BUCKET/gst-rclone-$run/put"
  measure "get$r" -- "${rclone_cmd[@]}" hashsum crc32 "${get_flags[@]}" "${stats[@]}" \
    --log-file "$work/get$r.log" setk: >"$work/get$r.sums"
  purge "gst-rclone-$run"
  got=$(wc -l <"$work/get$r.sums")
  [ "$got" -eq $((n * k)) ] || { echo "rclone read $got objects, not $((n * k))" >&2; exit 1; }
  rows+=("$r $(m put_mib_s_median) $(segments "$work/put$r.log") $(segments "$work/md5$r.log") $(m get_mib_s_median) $(segments "$work/get$r.log") \
$(per_gib "ours$r" $(( $(m bytes_written) + $(m bytes_read) ))) $(per_gib "put$r" "$set_bytes") $(per_gib "md5$r" "$set_bytes") $(per_gib "get$r" $((set_bytes * k)))")
done

# column C of every row
col() { local c=$1 row; for row in "${rows[@]}"; do set -- $row; echo -n "${!c} "; done; }
med=()
for c in $(seq 2 6); do med[c]=$(col "$c" | median %.1f); done
for c in $(seq 7 18); do med[c]=$(col "$c" | median %.2f); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

echo "object_store.bench vs $(rclone version 2>/dev/null | head -1) on SeaweedFS at $GST_S3_ENDPOINT, $(date -u +%Y-%m-%d), $(nproc) CPUs"
echo "$n objects of $SIZE_MIB MiB, $CONCURRENCY workers / transfers, warm-up $WARMUP, $DURATION measured; the GETs read the set $k times"
echo "MiB/s: medians of 1-second segments after the warm-up (rclone: with $CONCURRENCY transfers in flight)"
echo
printf '%-6s %9s %9s %9s %6s %9s %9s %6s   %s\n' round "PUT step" rclone "+MD5" ratio "GET step" rclone ratio \
  "cores taken by everything else: step, rclone PUT, +MD5, GET"
for row in "${rows[@]}"; do
  set -- $row
  printf '%-6s %9.1f %9s %9s %6s %9.1f %9s %6s   %s %s %s %s\n' "$1" "$2" "$3" "$4" "$(ratio "$2" "$3")" \
    "$5" "$6" "$(ratio "$5" "$6")" "$9" "${12}" "${15}" "${18}"
done
printf '%-6s %9s %9s %9s %6s %9s %9s %6s   %s %s %s %s\n' median "${med[2]}" "${med[3]}" "${med[4]}" \
  "$(ratio "${med[2]}" "${med[3]}")" "${med[5]}" "${med[6]}" "$(ratio "${med[5]}" "${med[6]}")" \
  "${med[9]}" "${med[12]}" "${med[15]}" "${med[18]}"
echo
echo "CPU seconds per GiB moved, client / SeaweedFS, medians over the rounds:"
printf '  %-34s %s / %s\n' "object_store.bench, PUT and GET" "${med[7]}" "${med[8]}" \
  "rclone PUT (and its http source)" "${med[10]}" "${med[11]}" \
  "rclone PUT+MD5 (from local files)" "${med[13]}" "${med[14]}" \
  "rclone GET" "${med[16]}" "${med[17]}"
echo
echo "rclone serve http <tmpfs dir: $n hard links to one random file> --addr 127.0.0.1:$port"
echo "rclone copy ${put_flags[*]} ${stats[*]} <http remote of that dir> s3:$GST_S3_BUCKET/<prefix>"
echo "rclone copy ${put_flags[*]} ${stats[*]} <that dir> s3:$GST_S3_BUCKET/<prefix>   # +MD5"
echo "rclone hashsum crc32 ${get_flags[*]} ${stats[*]} <combine remote: s3:$GST_S3_BUCKET/<prefix> x $k>"
