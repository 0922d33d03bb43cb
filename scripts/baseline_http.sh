#!/usr/bin/env bash
# First HTTP baseline with wrk (Debian package): durable puts, then get_fast
# reads over the keys written. Loopback only; every phase bounded in time.
#
#   scripts/baseline_http.sh [seconds-per-phase, default 10]
#
# Env: KYRO_WRK_KEYS (key space, default 100000), KYRO_WRK_CONNS (default 64),
#      KYRO_WRK_THREADS (default 2), KYRODB_BIN (default build/release/src/kyrodb-engine),
#      PORT (default 3099).
# The machine is shared: the 1-minute load average is printed before and after
# each phase; numbers taken while it is above the core count are unreliable.
# For the side-by-side comparison with nginx, etcd and Redis see
# scripts/compare_peers.sh; for percentiles beyond p99 and CSV/JSON output,
# bench/load (kyrodb-bench).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs="${1:-10}"
export KYRO_WRK_KEYS="${KYRO_WRK_KEYS:-100000}"
conns="${KYRO_WRK_CONNS:-64}"
threads="${KYRO_WRK_THREADS:-2}"
bin="${KYRODB_BIN:-build/release/src/kyrodb-engine}"
port="${PORT:-3099}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "no server binary at $bin: bash scripts/build.sh release" >&2; exit 2; }

data="$(mktemp -d)"
KYRODB_DISABLE_HTTP_LOG=1 "$bin" serve 127.0.0.1 "$port" --data-dir "$data" >"$data.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data" "$data.log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; keys ${KYRO_WRK_KEYS}; ${conns} connections; wrk -t${threads}; ${secs}s per phase"
echo "## durable POST /v1/put (fsync policy: data)   load before: $(load)"
wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s bench/wrk/put.lua "http://127.0.0.1:$port"
echo "# load after: $(load)"
curl -s -X POST "http://127.0.0.1:$port/v1/rmi/build"; echo
echo "## GET /v1/get_fast/{key} (uniform over the key space; misses answer 404)   load before: $(load)"
wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s bench/wrk/get_fast.lua "http://127.0.0.1:$port"
echo "# load after: $(load)"
curl -s "http://127.0.0.1:$port/v1/stats"; echo
