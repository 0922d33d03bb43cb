#!/usr/bin/env bash
# KyroDB side by side with the peers a user already runs, in one run on this
# machine (issue 6). Loopback only; every phase bounded in time; every server
# this script starts runs from a temp dir on a free port and is stopped on exit.
#
#   scripts/compare_peers.sh                 # everything (~8-10 min on 2 vCPUs)
#   KYRO_PEERS_SECONDS=5 KYRO_PEERS_RESTART_KEYS=1000000 scripts/compare_peers.sh   # quicker
#   KYRO_PEERS_ONLY=get,put scripts/compare_peers.sh    # a subset: get, put, restart
#
# Measures:
#   get     GET /v1/get_fast/{key} (KYRO_PEERS_KEYS keys, 64-byte values) against nginx
#           answering `return 200 "<64 bytes>"` for any path, each with wrk -t1 -cC
#           (bench/wrk/get_fast.lua) and kyrodb-bench at C connections (C = KYRO_PEERS_CONNS,
#           default 64): both servers receive the very same requests.
#   put     durable POST /v1/put (default fsync policy `data`) against etcd's v3 JSON gateway
#           (POST /v3/kv/put, base64 key and value; etcd fsyncs its raft log per batch) with
#           kyrodb-bench, and Redis SET with appendonly yes + appendfsync always with
#           redis-benchmark -t set -cC -d 64; also wrk -t1 on KyroDB's put.
#   restart KYRO_PEERS_RESTART_KEYS keys (default 10M) loaded by batch puts, 3 s of puts,
#           kill -9; then time from exec to the first 200 of /ready and VmRSS, once after
#           that crash (snapshot + WAL tail) and once after a graceful SIGTERM.
# Then prints a table with ratios, writes build/peers/results.{json,csv} and the raw
# outputs, and draws bench/peers_throughput.png and bench/peers_latency_cdf.png with
# scripts/generate_plots.py (python3-matplotlib is installed with the peers).
#
# Environment:
#   KYRO_PEERS_KEYS          keys for get/put (default 1000000)
#   KYRO_PEERS_RESTART_KEYS  keys for the restart test (default 10000000)
#   KYRO_PEERS_SECONDS       length of each measured phase (default 10)
#   KYRO_PEERS_CONNS         connections (default 64)
#   KYRO_PEERS_ROUNDS        rounds of the get and put comparisons (default 3): each runs
#                            every client against every server back to back, alternating
#                            which server goes first; a row reports the round of median
#                            req/s, a ratio the median of the rounds' ratios
#   KYRO_PEERS_ONLY          comma list of get,put,restart (default all)
#   KYRO_PEERS_WORKERS       KyroDB's I/O threads (KYRODB_THREADS, every phase) and nginx's
#                            worker_processes, the same number (default: nproc, each
#                            server's own default). With the client on the same cores,
#                            1 is faster for both servers: run it both ways.
#   KYRO_PEERS_PROFILE=1     after the measurements, profile the server with
#                            `perf record -F 999 -g` during get_fast and put load
#                            (build/peers/perf-*.txt); numbers from those runs are not used
#   KYRO_PEERS_NO_INSTALL=1  do not apt-get install missing peers
#   BUILD_DIR                build dir with src/kyrodb-engine and bench/kyrodb-bench
#                            (default build/perf: Release, -g -fno-omit-frame-pointer)
#   OUT_DIR                  default build/peers
#   PLOT_PYTHON              default /usr/bin/python3 (has python3-matplotlib)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KEYS="${KYRO_PEERS_KEYS:-1000000}"
RKEYS="${KYRO_PEERS_RESTART_KEYS:-10000000}"
SECS="${KYRO_PEERS_SECONDS:-10}"
ROUNDS="${KYRO_PEERS_ROUNDS:-3}"
CONNS="${KYRO_PEERS_CONNS:-64}"
ONLY="${KYRO_PEERS_ONLY:-get,put,restart}"
WORKERS="${KYRO_PEERS_WORKERS:-$(nproc)}"
BUILD_DIR="${BUILD_DIR:-build/perf}"
OUT_DIR="$(realpath -m "${OUT_DIR:-build/peers}")"   # absolute: redis chdirs to its --dir
PLOT_PYTHON="${PLOT_PYTHON:-/usr/bin/python3}"
ENGINE="$BUILD_DIR/src/kyrodb-engine"
BENCH="$BUILD_DIR/bench/kyrodb-bench"
WARM=2

want() { [[ ",$ONLY," == *",$1,"* ]]; }
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'compare_peers: %s\n' "$*" >&2; exit 1; }
# build_kyro, stop_pid, wait_http, free_port, cpu_of, idle_pct
# shellcheck source=scripts/bench_lib.sh
. "$ROOT/scripts/bench_lib.sh"

# ---------------------------------------------------------------- install ---
install_peers() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v nginx >/dev/null || missing+=(nginx-light)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-benchmark >/dev/null || missing+=(redis-tools)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  command -v curl >/dev/null || missing+=(curl)
  "$PLOT_PYTHON" -c 'import matplotlib' 2>/dev/null || missing+=(python3-matplotlib)
  ((${#missing[@]})) || return 0
  [[ -n "${KYRO_PEERS_NO_INSTALL:-}" ]] && die "missing: ${missing[*]} (KYRO_PEERS_NO_INSTALL is set)"
  log "apt-get install ${missing[*]}"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  # Debian starts a package's service on install; none is wanted here (ports,
  # data dirs): a policy-rc.d that forbids it, removed after, if we added it.
  local added_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  [[ -n "$added_policy" ]] && $sudo rm -f /usr/sbin/policy-rc.d
  return 0
}

# ---------------------------------------------------------- process mgmt ---
TMP="$(mktemp -d /tmp/kyro-peers.XXXXXX)"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do
    [[ -n "$p" ]] && kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]:-}"; do
    [[ -n "$p" ]] && wait "$p" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM



load1() { cut -d' ' -f1 /proc/loadavg; }
# Around every measured phase: the 1-minute load average before and after,
# how idle the CPUs were just before it (the servers waiting: other work shows
# here), and the server's CPU seconds during the phase, so CPU per request can
# be compared even when the cores were busy elsewhere.
SERVER_PIDS=""
LOADS="$OUT_DIR/loads.tsv"   # phase  load-before  load-after  server-cpu-seconds  idle-before-%
begin_phase() { PH_IDLE="$(idle_pct)"; PH_LOAD="$(load1)"; PH_CPU="$(cpu_of $SERVER_PIDS)"; }
end_phase() {
  local c1
  c1="$(cpu_of $SERVER_PIDS)"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$PH_LOAD" "$(load1)" \
    "$(awk -v a="$PH_CPU" -v b="$c1" -v t="$TICK" 'BEGIN{printf "%.2f", (b - a) / t}')" "$PH_IDLE" >>"$LOADS"
}

start_kyro() {  # port datadir logfile -> pid in KPID
  KYRODB_THREADS="$WORKERS" KYRODB_DISABLE_HTTP_LOG=1 "$ENGINE" serve 127.0.0.1 "$1" --data-dir "$2" >>"$3" 2>&1 &
  KPID=$!
  PIDS+=("$KPID")
  SERVER_PIDS="$KPID"
}

rss_of() {  # pid -> "VmRSS RssAnon RssFile" in kB
  awk '/^VmRSS:/{r=$2} /^RssAnon:/{a=$2} /^RssFile:/{f=$2} END{print r+0, a+0, f+0}' "/proc/$1/status"
}

# ------------------------------------------------------------------- main ---
install_peers
build_kyro
mkdir -p "$OUT_DIR"
# Everything a phase writes: a subset run (KYRO_PEERS_ONLY) must not report an older
# run's files (restart.tsv) as its own.
rm -f "$OUT_DIR"/*.json "$OUT_DIR"/*.txt "$OUT_DIR"/*.csv "$OUT_DIR"/*.tsv "$OUT_DIR"/*.log "$LOADS"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "nproc: $(nproc)"
  echo "mem: $(free -g | awk '/^Mem:/{print $2}') GiB"
  echo "kernel: $(uname -r)"
  echo "uptime_before: $(uptime)"
  echo "keys: $KEYS  restart_keys: $RKEYS  seconds: $SECS  connections: $CONNS  server threads (kyrodb, nginx): $WORKERS"
  echo "kyrodb: $("$ENGINE" version 2>/dev/null | head -1)"
  echo "nginx: $(nginx -v 2>&1)"
  echo "redis: $(redis-server --version)"
  echo "etcd: $(etcd --version 2>/dev/null | head -1)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  # One fdatasync of a small append on the disk the data dirs live on: what
  # every durable write here costs at least (the issue's reference: ~140 us).
  python3 - "$TMP" <<'PY'
import os, sys, time
p = os.path.join(sys.argv[1], "fsync_probe.bin")
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
ts = []
for _ in range(200):
    os.write(fd, b"x" * 128)
    t = time.perf_counter(); os.fdatasync(fd); ts.append(time.perf_counter() - t)
os.close(fd); os.unlink(p); ts.sort()
print("fdatasync_us: p50 %.0f p90 %.0f p99 %.0f (200 x 128-byte appends in %s)"
      % (ts[100] * 1e6, ts[180] * 1e6, ts[198] * 1e6, sys.argv[1]))
PY
} | tee "$OUT_DIR/machine.txt" >&2

BENCH_COMMON=(--threads 1 --timeout-seconds 5 --val-bytes 64)
# run_bench NAME LABEL read|write ARGS...: an unrecorded warm-up run of WARM
# seconds, then the measured run of SECS seconds (server CPU counted for it only).
run_bench() {
  local name="$1" label="$2" kind="$3"
  shift 3
  "$BENCH" "$@" "${BENCH_COMMON[@]}" --"$kind"-seconds "$WARM" --warmup-seconds 0 --quiet >/dev/null
  begin_phase
  "$BENCH" "$@" "${BENCH_COMMON[@]}" --"$kind"-seconds "$SECS" --warmup-seconds 0 --quiet --label "$label" \
    --out "$OUT_DIR/$name.json" | tee "$OUT_DIR/$name.txt" >&2
  end_phase "$name"
}

if want get || want put; then
  KPORT="$(free_port)"
  KDATA="$TMP/kyro-get"
  mkdir -p "$KDATA"
  log "KyroDB on 127.0.0.1:$KPORT, loading $KEYS keys"
  start_kyro "$KPORT" "$KDATA" "$OUT_DIR/kyrodb-server.log"
  "$BENCH" --base "http://127.0.0.1:$KPORT" --wait-ready 60 --load-n "$KEYS" --read-seconds 0 \
    --load-timeout 300 --quiet --out "$OUT_DIR/kyrodb-load.json" | tee "$OUT_DIR/kyrodb-load.txt" >&2
  KPID_GET="$KPID"
fi

# get_round SYSTEM PORT ROUND: wrk, then kyrodb-bench, against one server.
# Both servers answer every path, so both see the very same requests (same
# Lua script, same targets; nginx returns its fixed body for any of them).
get_round() {
  local sys="$1" port="$2" r="$3"
  if [[ "$sys" == kyrodb ]]; then SERVER_PIDS="$KPID_GET"; else SERVER_PIDS="$NGINX_PIDS"; fi
  log "GET round $r of $ROUNDS, $sys: wrk -t1 -c$CONNS, ${SECS}s"
  KYRO_WRK_KEYS="$KEYS" wrk -t1 -c"$CONNS" -d"$WARM"s -s bench/wrk/get_fast.lua "http://127.0.0.1:$port" >/dev/null
  begin_phase
  KYRO_WRK_KEYS="$KEYS" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s bench/wrk/get_fast.lua \
    "http://127.0.0.1:$port" | tee "$OUT_DIR/wrk-$sys-get.$r.txt" >&2
  end_phase "wrk-$sys-get.$r"
  log "GET round $r of $ROUNDS, $sys: kyrodb-bench $CONNS connections, ${SECS}s"
  run_bench "bench-$sys-get.$r" "$sys" read --base "http://127.0.0.1:$port" --route get_fast --key-space "$KEYS" \
    --read-concurrency "$CONNS"
}

if want get; then
  NPORT="$(free_port)"
  NDIR="$TMP/nginx"
  mkdir -p "$NDIR/logs"
  BODY64="$(printf 'v%.0s' $(seq 64))"
  cat >"$NDIR/nginx.conf" <<EOF
daemon off;
worker_processes $WORKERS;
pid $NDIR/nginx.pid;
error_log $NDIR/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path $NDIR/body;
  proxy_temp_path $NDIR/proxy;
  fastcgi_temp_path $NDIR/fastcgi;
  uwsgi_temp_path $NDIR/uwsgi;
  scgi_temp_path $NDIR/scgi;
  server {
    listen 127.0.0.1:$NPORT;
    location / {
      default_type application/octet-stream;
      return 200 "$BODY64";
    }
  }
}
EOF
  nginx -p "$NDIR" -c "$NDIR/nginx.conf" &
  NGPID=$!
  PIDS+=("$NGPID")
  wait_http "http://127.0.0.1:$NPORT/" 10
  NGINX_PIDS="$NGPID $(pgrep -P "$NGPID" | tr '\n' ' ')"
  # Rounds alternate which server goes first (KyroDB, nginx; then nginx,
  # KyroDB; ...): on a VM whose speed drifts by tens of percent within minutes,
  # back-to-back pairs are what can be compared.
  for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then
      get_round kyrodb "$KPORT" "$r"; get_round nginx "$NPORT" "$r"
    else
      get_round nginx "$NPORT" "$r"; get_round kyrodb "$KPORT" "$r"
    fi
  done
  stop_pid "$NGPID" 10
  SERVER_PIDS="$KPID_GET"
fi

# put_round_kyro / _etcd / _redis ROUND: one measured durable-write run each.
put_round_kyro() {
  local r="$1"
  SERVER_PIDS="$KPID_GET"
  log "put round $r of $ROUNDS, KyroDB: POST /v1/put, kyrodb-bench $CONNS connections, ${SECS}s (fsync policy: data)"
  run_bench "bench-kyrodb-put.$r" kyrodb write --base "http://127.0.0.1:$KPORT" --key-space "$KEYS" \
    --read-seconds 0 --write-concurrency "$CONNS"
  log "put round $r of $ROUNDS, KyroDB: POST /v1/put, wrk -t1 -c$CONNS, ${SECS}s"
  KYRO_WRK_KEYS="$KEYS" wrk -t1 -c"$CONNS" -d"$WARM"s -s bench/wrk/put.lua "http://127.0.0.1:$KPORT" >/dev/null
  begin_phase
  KYRO_WRK_KEYS="$KEYS" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s bench/wrk/put.lua \
    "http://127.0.0.1:$KPORT" | tee "$OUT_DIR/wrk-kyrodb-put.$r.txt" >&2
  end_phase "wrk-kyrodb-put.$r"
}
put_round_etcd() {
  local r="$1"
  SERVER_PIDS="$EPID"
  log "put round $r of $ROUNDS, etcd: POST /v3/kv/put, kyrodb-bench $CONNS connections, ${SECS}s"
  run_bench "bench-etcd-put.$r" etcd write --base "http://127.0.0.1:$EPORT" --route etcd --key-space "$KEYS" \
    --read-seconds 0 --write-concurrency "$CONNS"
}
put_round_redis() {
  local r="$1" n
  SERVER_PIDS="$RPID"
  log "put round $r of $ROUNDS, Redis: SET (appendfsync always), redis-benchmark -c$CONNS"
  n=$(( ${REDIS_CAL:-10000} * SECS ))
  ((n < 2000)) && n=2000
  begin_phase
  timeout $((SECS * 3 + 20)) redis-benchmark -h 127.0.0.1 -p "$RPORT" -t set -c "$CONNS" -d 64 -r "$KEYS" \
    -n "$n" --csv | tee "$OUT_DIR/redis-set.$r.csv" >&2 || true
  echo "$n" >"$OUT_DIR/redis-set.$r.n"
  end_phase "redis-set.$r"
}

if want put; then
  # etcd and Redis start first and wait idle, so the rounds can alternate
  # between all three servers (the same reason as for GET).
  EPORT="$(free_port)"
  EPEER="$(free_port)"
  [[ "$EPEER" == "$EPORT" ]] && EPEER=$((EPORT + 1))
  log "etcd on 127.0.0.1:$EPORT"
  etcd --name peers --data-dir "$TMP/etcd" \
    --listen-client-urls "http://127.0.0.1:$EPORT" --advertise-client-urls "http://127.0.0.1:$EPORT" \
    --listen-peer-urls "http://127.0.0.1:$EPEER" --initial-advertise-peer-urls "http://127.0.0.1:$EPEER" \
    --initial-cluster "peers=http://127.0.0.1:$EPEER" --log-level error --quota-backend-bytes 4294967296 \
    >"$OUT_DIR/etcd.log" 2>&1 &
  EPID=$!
  PIDS+=("$EPID")
  wait_http "http://127.0.0.1:$EPORT/health" 30

  RPORT="$(free_port)"
  mkdir -p "$TMP/redis"
  log "redis on 127.0.0.1:$RPORT (appendonly yes, appendfsync always)"
  redis-server --bind 127.0.0.1 --port "$RPORT" --dir "$TMP/redis" --appendonly yes --appendfsync always \
    --save "" --daemonize no --protected-mode yes --logfile "$OUT_DIR/redis.log" &
  RPID=$!
  PIDS+=("$RPID")
  for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$RPORT" ping >/dev/null 2>&1 || die "redis did not start (see $OUT_DIR/redis.log)"
  redis-cli -p "$RPORT" config get appendfsync | tr '\n' ' ' >&2 || true
  echo >&2
  # redis-benchmark runs a request count, not a time: a short calibration run
  # (also its warm-up) sets the count for about SECS seconds; timeout bounds both.
  REDIS_CAL="$(timeout 30 redis-benchmark -h 127.0.0.1 -p "$RPORT" -t set -c "$CONNS" -d 64 -r "$KEYS" -n 3000 \
    --csv | awk -F'"' '/^"SET"/{print int($4)}')" || true

  for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then
      put_round_kyro "$r"; put_round_etcd "$r"; put_round_redis "$r"
    else
      put_round_redis "$r"; put_round_etcd "$r"; put_round_kyro "$r"
    fi
  done
  stop_pid "$EPID" 20
  stop_pid "$RPID" 20
  SERVER_PIDS="$KPID_GET"
fi

if want get || want put; then
  curl -s "http://127.0.0.1:$KPORT/v1/stats" >"$OUT_DIR/kyrodb-stats.json" || true
  curl -s "http://127.0.0.1:$KPORT/metrics" >"$OUT_DIR/kyrodb-metrics.txt" || true
  stop_pid "$KPID_GET" 30
  rm -rf "$KDATA"
fi


if want restart; then
  RDATA="$TMP/kyro-restart"
  RLOG="$OUT_DIR/kyrodb-restart.log"
  mkdir -p "$RDATA"
  P="$(free_port)"
  log "restart: loading $RKEYS keys (64-byte values) into a fresh KyroDB"
  start_kyro "$P" "$RDATA" "$RLOG"
  "$BENCH" --base "http://127.0.0.1:$P" --wait-ready 60 --read-seconds 0 --quiet >/dev/null
  read -r rss_empty anon_empty file_empty < <(rss_of "$KPID")   # the fixed cost of an empty server
  begin_phase
  "$BENCH" --base "http://127.0.0.1:$P" --load-n "$RKEYS" --load-concurrency 4 \
    --read-seconds 0 --load-timeout 600 --quiet --out "$OUT_DIR/kyrodb-restart-load.json" \
    | tee "$OUT_DIR/kyrodb-restart-load.txt" >&2
  end_phase restart-load
  read -r rss_load anon_load file_load < <(rss_of "$KPID")
  # A tail of writes the background checkpoints have not covered yet, then a
  # crash: the first restart recovers snapshot + WAL tail.
  "$BENCH" --base "http://127.0.0.1:$P" --key-space "$RKEYS" --read-seconds 0 --write-concurrency 16 \
    --write-seconds 3 --warmup-seconds 0 --quiet >"$OUT_DIR/kyrodb-restart-tail.txt"
  kill -9 "$KPID"; wait "$KPID" 2>/dev/null || true
  { echo "# after load + 3 s of puts + kill -9"; ls -la "$RDATA"; } >"$OUT_DIR/restart-files.txt"

  restart_once() {  # tag -> appends a line to restart.tsv
    local tag="$1" t0 ready ms rss anon file rec
    t0="$(date +%s%N)"
    start_kyro "$P" "$RDATA" "$RLOG"
    ready="$("$BENCH" --base "http://127.0.0.1:$P" --wait-ready 300 --read-seconds 0 --quiet \
      | sed -n 's/.*ready_unix_ns=\([0-9]*\).*/\1/p')"
    [[ -n "$ready" ]] || die "KyroDB did not become ready after restart ($tag)"
    ms=$(( (ready - t0) / 1000000 ))
    read -r rss anon file < <(rss_of "$KPID")
    # The server's own account: recovery ms and WAL records replayed.
    rec="$(grep '"store_recovered"' "$RLOG" | tail -1 | python3 -c 'import json,sys
d=json.loads(sys.stdin.read() or "{}"); print(round(d.get("ms", -1)), d.get("wal_entries_replayed", -1))' 2>/dev/null || echo "- -")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tag" "$ms" "$rss" "$anon" "$file" "${rec// /$'\t'}" >>"$OUT_DIR/restart.tsv"
    log "restart ($tag): ready in ${ms} ms, VmRSS ${rss} kB (anon ${anon}, file ${file}); recovery ms / WAL records: $rec"
  }
  printf 'tag\tready_ms\tvmrss_kb\trss_anon_kb\trss_file_kb\trecovery_ms\twal_replayed\n' >"$OUT_DIR/restart.tsv"
  printf 'empty\t\t%s\t%s\t%s\t\t\n' "$rss_empty" "$anon_empty" "$file_empty" >>"$OUT_DIR/restart.tsv"
  printf 'after-load\t\t%s\t%s\t%s\t\t\n' "$rss_load" "$anon_load" "$file_load" >>"$OUT_DIR/restart.tsv"
  begin_phase
  restart_once after-kill-9
  curl -s "http://127.0.0.1:$P/v1/stats" >"$OUT_DIR/kyrodb-restart-stats.json" || true
  stop_pid "$KPID" 120
  { echo "# after SIGTERM"; ls -la "$RDATA"; } >>"$OUT_DIR/restart-files.txt"
  restart_once after-sigterm
  curl -s "http://127.0.0.1:$P/v1/stats" >"$OUT_DIR/kyrodb-restart-stats2.json" || true
  end_phase restart
  du -sb "$RDATA" | awk '{print "data_dir_bytes\t" $1}' >>"$OUT_DIR/restart.tsv"
  stop_pid "$KPID" 120
  rm -rf "$RDATA"
fi

if [[ "${KYRO_PEERS_PROFILE:-}" == "1" ]]; then
  command -v perf >/dev/null || die "perf is missing: apt-get install linux-perf"
  PDATA="$TMP/kyro-prof"
  mkdir -p "$PDATA"
  P="$(free_port)"
  log "profile: perf record -F 999 -g on the server during get_fast and put load"
  start_kyro "$P" "$PDATA" "$OUT_DIR/kyrodb-profile.log"
  "$BENCH" --base "http://127.0.0.1:$P" --wait-ready 60 --load-n "$KEYS" --read-seconds 0 --quiet >/dev/null
  for work in get put; do
    if [[ "$work" == get ]]; then
      args=(--read-concurrency "$CONNS" --read-seconds "$SECS")
    else
      args=(--read-seconds 0 --write-concurrency "$CONNS" --write-seconds "$SECS")
    fi
    perf record -F 999 -g -p "$KPID" -o "$OUT_DIR/perf-$work.data" -- sleep "$((SECS + 1))" 2>/dev/null &
    perfpid=$!
    "$BENCH" --base "http://127.0.0.1:$P" --key-space "$KEYS" "${args[@]}" --threads 1 --quiet \
      --warmup-seconds 0 --label "kyrodb-perf" >"$OUT_DIR/perf-$work-bench.txt"
    wait "$perfpid" || true
    perf report -i "$OUT_DIR/perf-$work.data" --no-children --percent-limit 0.7 --stdio 2>/dev/null \
      | head -400 >"$OUT_DIR/perf-$work.txt" || true
    perf report -i "$OUT_DIR/perf-$work.data" --children --sort symbol --percent-limit 2 --stdio -g none \
      2>/dev/null | head -150 >"$OUT_DIR/perf-$work-children.txt" || true
  done
  stop_pid "$KPID" 30
fi

echo "uptime_after: $(uptime)" | tee -a "$OUT_DIR/machine.txt" >&2

# ---------------------------------------------------------------- summary ---
python3 - "$OUT_DIR" "$KEYS" "$RKEYS" "$CONNS" <<'PY'
import csv, glob, json, os, re, sys
out, keys, rkeys, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = []
loads = {}
if os.path.exists(f"{out}/loads.tsv"):
    for line in open(f"{out}/loads.tsv"):
        p = line.rstrip("\n").split("\t")
        if len(p) >= 5: loads[p[0]] = (p[1], p[2], p[3], p[4])

def cpu_fields(name, rps, seconds):
    l = loads.get(name)
    if not l or not rps: return dict(server_cpu_s=None, server_cpu_us_per_req=None)
    cpu = float(l[2])
    return dict(server_cpu_s=cpu, server_cpu_us_per_req=cpu / (rps * seconds) * 1e6)

def to_us(s):
    m = re.match(r"([\d.]+)(us|ms|s)$", s.strip())
    if not m: return None
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]

def rounds_of(name, ext):
    """The files of phase `name`: one run (NAME.EXT) or rounds (NAME.1.EXT, NAME.2.EXT, ...)."""
    if os.path.exists(f"{out}/{name}.{ext}"): return [(name, f"{out}/{name}.{ext}")]
    found = []
    for path in glob.glob(f"{out}/{name}.*.{ext}"):
        r = path[len(f"{out}/{name}."):-len(f".{ext}")]
        if r.isdigit(): found.append((int(r), f"{name}.{r}", path))
    return [(n, path) for _, n, path in sorted(found)]

def add_median(runs):
    """One row for a phase: the run of median req/s, with every round's req/s."""
    if not runs: return
    ordered = sorted(runs, key=lambda r: r["rps"])
    row = dict(ordered[(len(ordered) - 1) // 2])
    row["rounds_rps"] = [r["rps"] for r in runs]
    if len(runs) > 1:
        row["note"] = (row["note"] + "; " if row["note"] else "") + \
            f"median of {len(runs)} rounds: " + " / ".join(f"{r['rps']:,.0f}" for r in runs) + " req/s"
    rows.append(row)

def wrk(name, system, workload):
    runs = []
    for phase, path in rounds_of(name, "txt"):
        t = open(path).read()
        m = re.search(r"Requests/sec:\s+([\d.]+)", t)
        if not m: continue
        pct = {k: to_us(v) for k, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", t, re.M)}
        non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
        errs = re.search(r"Socket errors:.*", t)
        dur = re.search(r"requests in ([\d.]+)(m?s)", t)
        secs = float(dur.group(1)) * (1e-3 if dur and dur.group(2) == "ms" else 1) if dur else 0
        runs.append(dict(system=system, workload=workload, client="wrk -t1", connections=conns,
                         **cpu_fields(phase, float(m.group(1)), secs), rps=float(m.group(1)), p50_us=pct.get("50"),
                         p90_us=pct.get("90"), p99_us=pct.get("99"), p999_us=None, max_us=None,
                         errors=int(non2xx.group(1)) if non2xx else 0, note=errs.group(0) if errs else "",
                         load=loads.get(phase)))
    add_median(runs)

def bench(name, system, workload):
    runs = []
    for phase, path in rounds_of(name, "json"):
        d = json.load(open(path))
        for ph in d["phases"]:
            if ph["phase"] not in ("read", "write"): continue
            l = ph["latency_us"]
            runs.append(dict(system=system, workload=workload, client="kyrodb-bench", connections=ph["connections"],
                             **cpu_fields(phase, ph["rps"], ph["seconds"]), rps=ph["rps"], p50_us=l["p50"],
                             p90_us=l["p90"], p99_us=l["p99"], p999_us=l["p999"], max_us=l["max"], errors=ph["errors"],
                             note=f"client {ph['client_cpu_seconds']:.1f} CPU-s", load=loads.get(phase),
                             cdf_us=ph["cdf_us"]))
    add_median(runs)

def redis(name):
    runs = []
    for phase, path in rounds_of(name, "csv"):
        r = list(csv.DictReader(open(path)))
        if not r: continue
        r = r[0]
        rps = float(r["rps"])
        # redis-benchmark runs -n requests; the count is kept beside its output.
        npath = path[:-len(".csv")] + ".n"
        secs = int(open(npath).read()) / rps if os.path.exists(npath) and rps else 0
        ms = lambda k: float(r[k]) * 1e3 if k in r else None
        runs.append(dict(system="redis (appendfsync always)", workload="durable write", client="redis-benchmark",
                         connections=conns, **cpu_fields(phase, rps, secs), rps=rps, p50_us=ms("p50_latency_ms"),
                         p90_us=None, p99_us=ms("p99_latency_ms"), p999_us=None, max_us=ms("max_latency_ms"),
                         errors=0, note=f"SET, -d 64, -r {keys}", load=loads.get(phase)))
    add_median(runs)

wrk("wrk-kyrodb-get", "kyrodb", "GET 64-byte value")
bench("bench-kyrodb-get", "kyrodb", "GET 64-byte value")
wrk("wrk-nginx-get", "nginx", "GET 64-byte value")
bench("bench-nginx-get", "nginx", "GET 64-byte value")
bench("bench-kyrodb-put", "kyrodb", "durable write")
wrk("wrk-kyrodb-put", "kyrodb", "durable write")
bench("bench-etcd-put", "etcd", "durable write")
redis("redis-set")

def f(v, unit=""):
    if v is None: return "-"
    if unit == "us": return f"{v/1000:.2f} ms" if v >= 1000 else f"{v:.0f} us"
    return f"{v:,.0f}"

print("\n%-28s %-22s %-16s %6s %12s %10s %10s %10s %8s %12s  %s" % ("system", "workload", "client", "conns", "req/s",
      "p50", "p99", "p99.9", "errors", "srv CPU/req", "idle before"))
for r in rows:
    ld = f"{r['load'][3]} %" if r.get("load") else "-"
    cpr = f"{r['server_cpu_us_per_req']:.1f} us" if r.get("server_cpu_us_per_req") else "-"
    print("%-28s %-22s %-16s %6d %12s %10s %10s %10s %8d %12s  %s" % (r["system"], r["workload"], r["client"], r["connections"],
          f(r["rps"]), f(r["p50_us"], "us"), f(r["p99_us"], "us"), f(r["p999_us"], "us"), r["errors"], cpr, ld))
for r in rows:
    if len(r.get("rounds_rps", [])) > 1:
        print(f"  {r['system']}, {r['client']}: the row is the round of median req/s of "
              + " / ".join(f"{v:,.0f}" for v in r["rounds_rps"]))

def find(system, workload, client):
    for r in rows:
        if r["system"].startswith(system) and r["workload"] == workload and r["client"] == client: return r
    return None

ratios = []
def ratio(label, a, b, target=None):
    if a and b and b["rps"]:
        ra, rb = a.get("rounds_rps", []), b.get("rounds_rps", [])
        if len(ra) > 1 and len(ra) == len(rb):
            # Rounds ran back to back: the median of the per-round ratios.
            each = sorted(x / y for x, y in zip(ra, rb))
            x = each[(len(each) - 1) // 2] if len(each) % 2 else (each[len(each) // 2 - 1] + each[len(each) // 2]) / 2
            how = " (median of rounds " + " / ".join(f"{v:.2f}" for v in (x_ / y_ for x_, y_ in zip(ra, rb))) + ")"
        else:
            x, how = a["rps"] / b["rps"], ""
        met = "" if target is None else ("  target >= %.1fx: %s" % (target, "met" if x >= target else "NOT met"))
        ratios.append(dict(label=label, ratio=x, target=target, met=None if target is None else x >= target))
        print(f"  {label:<52} {x:6.2f}x{met}{how}")

busy = sorted((float(l[3]), name) for name, l in loads.items() if float(l[3]) < 90)
if busy:
    print(f"\nWARNING: just before {busy[0][1]} the CPUs were only {busy[0][0]:.0f} % idle with the servers waiting "
          f"({len(busy)} phase(s) below 90 %): other work shared the cores, so throughput and latency are unreliable "
          "and ratios can swing either way (a starved client makes a server look slow). Server CPU per request is "
          "the steadier comparison.")
print("\nratios (throughput, same client, same connections):")
g = "GET 64-byte value"
ratio("kyrodb get_fast / nginx (wrk -t1)", find("kyrodb", g, "wrk -t1"), find("nginx", g, "wrk -t1"), 0.9)
ratio("kyrodb get_fast / nginx (kyrodb-bench)", find("kyrodb", g, "kyrodb-bench"), find("nginx", g, "kyrodb-bench"), 0.9)
w = "durable write"
ratio("kyrodb put / etcd put (kyrodb-bench)", find("kyrodb", w, "kyrodb-bench"), find("etcd", w, "kyrodb-bench"), 5.0)
ratio("kyrodb put (kyrodb-bench) / redis SET always (redis-benchmark)", find("kyrodb", w, "kyrodb-bench"), find("redis", w, "redis-benchmark"), 0.9)
ratio("kyrodb put (wrk -t1) / redis SET always (redis-benchmark)", find("kyrodb", w, "wrk -t1"), find("redis", w, "redis-benchmark"), 0.9)
cpu_k = find("kyrodb", g, "wrk -t1"); cpu_n = find("nginx", g, "wrk -t1")
if cpu_k and cpu_n and cpu_k.get("server_cpu_us_per_req") and cpu_n.get("server_cpu_us_per_req"):
    print(f"  server CPU per GET, kyrodb / nginx (wrk -t1): {cpu_k['server_cpu_us_per_req']:.1f} / "
          f"{cpu_n['server_cpu_us_per_req']:.1f} us = {cpu_k['server_cpu_us_per_req'] / cpu_n['server_cpu_us_per_req']:.2f}x")
for sys_ in ("wrk -t1", "kyrodb-bench"):
    r = find("kyrodb", g, sys_)
    n = find("nginx", g, sys_)
    if r and r["p99_us"] is not None:
        ref = f" (nginx {n['p99_us']/1000:.2f} ms)" if n and n["p99_us"] is not None else ""
        print(f"  kyrodb get_fast p99 ({sys_}): {r['p99_us']/1000:.2f} ms{ref}  target <= 1 ms: "
              f"{'met' if r['p99_us'] <= 1000 else 'NOT met'}")

restart = []
if os.path.exists(f"{out}/restart.tsv"):
    lines = [l.rstrip("\n").split("\t") for l in open(f"{out}/restart.tsv")][1:]
    load_info = {}
    lj = f"{out}/kyrodb-restart-load.json"
    if os.path.exists(lj):
        ph = json.load(open(lj))["phases"][0]
        load_info = dict(keys_loaded=ph.get("keys_loaded"), seconds=ph["seconds"])
    n = load_info.get("keys_loaded") or rkeys
    empty_kb = None
    budget_kb = (n * 64 + n * 24) / 1024
    print(f"\nrestart and memory ({n:,} keys, 64-byte values; loaded in {load_info.get('seconds', 0):.1f} s):")
    print(f"  memory target: value bytes + 24 B/key = {budget_kb/1024:,.0f} MiB")
    for l in lines:
        if l[0] == "data_dir_bytes":
            print(f"  data dir: {int(l[1])/2**20:,.0f} MiB"); restart.append(dict(tag="data_dir", bytes=int(l[1]))); continue
        tag, ms, rss, anon, fil = l[:5]
        rec_ms, replayed = (l[5:7] + ["", ""])[:2]
        e = dict(tag=tag, ready_ms=int(ms) if ms else None, vmrss_kb=int(rss), rss_anon_kb=int(anon), rss_file_kb=int(fil),
                 recovery_ms=rec_ms or None, wal_replayed=replayed or None)
        restart.append(e)
        s = f"  {tag:<14} VmRSS {int(rss)/1024:8,.0f} MiB (anon {int(anon)/1024:,.0f}, file {int(fil)/1024:,.0f})"
        if tag == "empty":
            empty_kb = int(rss)
            print(f"  {tag:<14} VmRSS {int(rss)/1024:8,.1f} MiB (anon {int(anon)/1024:,.1f}, file {int(fil)/1024:,.1f}): "
                  "binary, libraries, thread stacks")
            continue
        s += f"  memory target: {'met' if int(rss) <= budget_kb else 'NOT met'}"
        if empty_kb is not None:
            s += f" [{(int(rss) - empty_kb) * 1024 / n - 64:.1f} B/key above the values and the empty server]"
        if ms:
            s += f"   ready in {int(ms):,} ms  (target <= 1000 ms: {'met' if int(ms) <= 1000 else 'NOT met'})"
            s += f"; server: recovery {rec_ms} ms, {replayed} WAL records replayed"
        print(s)

machine = open(f"{out}/machine.txt").read() if os.path.exists(f"{out}/machine.txt") else ""
json.dump(dict(machine=machine, rows=rows, ratios=ratios, restart=restart, loads=loads),
          open(f"{out}/results.json", "w"), indent=1)
with open(f"{out}/results.csv", "w", newline="") as fh:
    wcsv = csv.writer(fh)
    wcsv.writerow(["system", "workload", "client", "connections", "rps", "p50_us", "p90_us", "p99_us", "p999_us",
                   "max_us", "errors", "server_cpu_s", "server_cpu_us_per_req", "load_before", "load_after",
                   "idle_before_pct", "note"])
    for r in rows:
        ld = r.get("load") or ("", "", "", "")
        wcsv.writerow([r["system"], r["workload"], r["client"], r["connections"], f"{r['rps']:.1f}", r["p50_us"],
                       r["p90_us"], r["p99_us"], r["p999_us"], r["max_us"], r["errors"], r.get("server_cpu_s"),
                       r.get("server_cpu_us_per_req"), ld[0], ld[1], ld[3], r["note"]])
print(f"\nwrote {out}/results.json and {out}/results.csv")
PY

if "$PLOT_PYTHON" -c 'import matplotlib' 2>/dev/null; then
  "$PLOT_PYTHON" scripts/generate_plots.py --peers "$OUT_DIR/results.json" --out-dir bench || true
else
  echo "no matplotlib for $PLOT_PYTHON: plots skipped (apt-get install python3-matplotlib)" >&2
fi
