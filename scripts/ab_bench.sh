#!/usr/bin/env bash
# A/B of two KyroDB server settings, in interleaved pairs of runs on this
# machine. On a small shared VM one run of each says little (runs minutes
# apart differ by 20 %); pairs run back to back, in alternating order, do.
# Loopback only; every run bounded in time; servers run from a temp dir on a
# free port and are stopped on exit.
#
#   scripts/ab_bench.sh put KYRODB_WAL_PIPELINE=on KYRODB_WAL_PIPELINE=off
#   scripts/ab_bench.sh get KYRODB_THREADS=1 KYRODB_THREADS=2
#   scripts/ab_bench.sh put "KYRODB_THREADS=1 KYRODB_WAL_PIPELINE=on" KYRODB_THREADS=1
#
# Workloads:
#   put  durable POST /v1/put with kyrodb-bench (random keys of KYRO_AB_KEYS), each run on
#        an empty data directory
#   get  GET /v1/get_fast with kyrodb-bench over KYRO_AB_KEYS keys (64-byte values), loaded
#        once per side by a server with that side's settings; each run of the side starts
#        its server on that data directory
# A and B are space-separated VAR=value settings for the server's environment ("" for
# the defaults). Each run: a fresh server, KYRO_AB_WARM seconds of unrecorded load, then
# KYRO_AB_SECONDS measured; the server's CPU time (all threads) over the measured run
# gives CPU per request.
#
# Environment:
#   KYRO_AB_PAIRS    pairs of runs (default 5); pair i runs A then B, pair i+1 B then A
#   KYRO_AB_SECONDS  measured seconds per run (default 6)
#   KYRO_AB_WARM     warm-up seconds per run (default 2)
#   KYRO_AB_CONNS    connections (default 64)
#   KYRO_AB_KEYS     keys (default 1000000)
#   KYRO_AB_DELTA_SECONDS
#                    get only (default 0): after loading, this many seconds of durable puts
#                    over [0, 2 x KEYS) from KYRO_AB_CONNS connections. No checkpoint folds
#                    them in (a stop only syncs the WAL), so every run's server replays them
#                    into its delta and its GETs ask that delta first, as between two
#                    checkpoints (keep it under KYRODB_REBUILD_DELTA_ENTRIES writes: ~12 s here)
#   KYRO_AB_ENGINE_A, KYRO_AB_ENGINE_B
#                    a kyrodb-engine binary for that side instead of BUILD_DIR's, to compare
#                    two commits: build the other one elsewhere (git worktree + the cmake line
#                    of scripts/bench_lib.sh), pass its binary, and "" "" as the settings
#   BUILD_DIR        default build/perf (built first: Release, -g -fno-omit-frame-pointer)
#   OUT_DIR          default build/ab: runs.tsv and each run's kyrodb-bench JSON
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'ab_bench: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/bench_lib.sh
. "$ROOT/scripts/bench_lib.sh"

[[ $# -eq 3 ]] || die "usage: scripts/ab_bench.sh put|get 'VAR=value ...' 'VAR=value ...'"
WORK="$1"; SETTINGS=("$2" "$3")
[[ "$WORK" == put || "$WORK" == get ]] || die "workload must be put or get, not '$WORK'"
for s in "${SETTINGS[@]}"; do
  for kv in $s; do
    [[ "$kv" =~ ^KYRODB_[A-Z0-9_]+=[^[:space:]]*$ ]] || die "not a KYRODB_VAR=value setting: '$kv'"
  done
done
PAIRS="${KYRO_AB_PAIRS:-5}"
SECS="${KYRO_AB_SECONDS:-6}"
WARM="${KYRO_AB_WARM:-2}"
CONNS="${KYRO_AB_CONNS:-64}"
KEYS="${KYRO_AB_KEYS:-1000000}"
DELTA_SECS="${KYRO_AB_DELTA_SECONDS:-0}"
[[ "$DELTA_SECS" =~ ^[0-9]+$ ]] || die "KYRO_AB_DELTA_SECONDS must be whole seconds"
BUILD_DIR="${BUILD_DIR:-build/perf}"
OUT_DIR="$(realpath -m "${OUT_DIR:-build/ab}")"
ENGINE="$BUILD_DIR/src/kyrodb-engine"
BENCH="$BUILD_DIR/bench/kyrodb-bench"

TMP="$(mktemp -d /tmp/kyro-ab.XXXXXX)"
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && stop_pid "$SERVER" 30
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ENGINES=("${KYRO_AB_ENGINE_A:-$ENGINE}" "${KYRO_AB_ENGINE_B:-$ENGINE}")
for e in "${ENGINES[@]}"; do [[ -x "$e" ]] || [[ "$e" == "$ENGINE" ]] || die "no executable $e"; done

stop_server() {  # SERVER
  stop_pid "$SERVER" 30
  SERVER=""
}

start_server() {  # port datadir "settings" side(A|B): pid in SERVER
  local engine="${ENGINES[0]}"
  [[ "$4" == B ]] && engine="${ENGINES[1]}"
  # shellcheck disable=SC2086  # the settings are VAR=value words, checked above
  env KYRODB_DISABLE_HTTP_LOG=1 $3 "$engine" serve 127.0.0.1 "$1" --data-dir "$2" >>"$TMP/server.log" 2>&1 &
  SERVER=$!
  "$BENCH" --base "http://127.0.0.1:$1" --wait-ready 120 --read-seconds 0 --quiet >/dev/null ||
    die "the server did not become ready (settings '$3'): $(tail -3 "$TMP/server.log")"
}

build_kyro
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/run-*.json
{
  echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit: $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  echo "# cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), nproc $(nproc), kernel $(uname -r)"
  echo "# workload: $WORK  pairs: $PAIRS  seconds: $SECS  connections: $CONNS  keys: $KEYS  delta seconds: $DELTA_SECS"
  echo "# A: ${SETTINGS[0]:-(defaults)}  engine: ${ENGINES[0]} ($("${ENGINES[0]}" version 2>/dev/null | head -1))"
  echo "# B: ${SETTINGS[1]:-(defaults)}  engine: ${ENGINES[1]} ($("${ENGINES[1]}" version 2>/dev/null | head -1))"
  printf 'pair\tside\trps\tp50_us\tp99_us\tp999_us\terrors\tserver_cpu_us_per_req\tidle_before_pct\n'
} >"$OUT_DIR/runs.tsv"

# get: each side's keys are loaded once, by a server with that side's settings
# (a setting may change how the data is written, e.g. the snapshot), into its
# own data directory that every run of that side then serves.
if [[ "$WORK" == get ]]; then
  for side in A B; do
    settings="${SETTINGS[0]}"
    [[ "$side" == B ]] && settings="${SETTINGS[1]}"
    log "loading $KEYS keys for side $side"
    port="$(free_port)"
    mkdir -p "$TMP/get-data-$side"
    start_server "$port" "$TMP/get-data-$side" "$settings" "$side"
    "$BENCH" --base "http://127.0.0.1:$port" --load-n "$KEYS" --read-seconds 0 --load-timeout 300 --quiet >/dev/null
    if ((DELTA_SECS > 0)); then
      "$BENCH" --base "http://127.0.0.1:$port" --key-space "$((2 * KEYS))" --read-seconds 0 --val-bytes 64 \
        --write-concurrency "$CONNS" --write-seconds "$DELTA_SECS" --warmup-seconds 0 --quiet >/dev/null
      delta="$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^kyrodb_store_delta_entries /{print $2}')"
      log "side $side: delta of $delta writes"
      echo "# side $side: delta of $delta writes" >>"$OUT_DIR/runs.tsv"
    fi
    stop_server
  done
fi

run_one() {  # pair side(A|B)
  local pair="$1" side="$2" settings port data kind c0 c1 idle out
  settings="${SETTINGS[0]}"
  [[ "$side" == B ]] && settings="${SETTINGS[1]}"
  port="$(free_port)"
  if [[ "$WORK" == put ]]; then
    data="$TMP/put-data"
    rm -rf "$data"
    mkdir -p "$data"
  else
    data="$TMP/get-data-$side"
  fi
  start_server "$port" "$data" "$settings" "$side"
  kind="read"
  [[ "$WORK" == put ]] && kind="write"
  local args=(--base "http://127.0.0.1:$port" --key-space "$KEYS" --val-bytes 64 --threads 1 --timeout-seconds 5
    --warmup-seconds 0 --quiet)
  if [[ "$kind" == write ]]; then
    args+=(--read-seconds 0 --write-concurrency "$CONNS")
  else
    args+=(--read-concurrency "$CONNS")
  fi
  "$BENCH" "${args[@]}" --"$kind"-seconds "$WARM" >/dev/null
  idle="$(idle_pct)"
  c0="$(cpu_of "$SERVER")"
  out="$OUT_DIR/run-$pair-$side.json"
  "$BENCH" "${args[@]}" --"$kind"-seconds "$SECS" --label "$side" --out "$out" >/dev/null
  c1="$(cpu_of "$SERVER")"
  stop_server
  python3 - "$out" "$kind" "$pair" "$side" "$((c1 - c0))" "$TICK" "$idle" >>"$OUT_DIR/runs.tsv" <<'PY'
import json, sys
path, kind, pair, side, ticks, tick, idle = sys.argv[1:8]
ph = next(p for p in json.load(open(path))["phases"] if p["phase"] == kind)
l, rps = ph["latency_us"], ph["rps"]
cpu = int(ticks) / int(tick) / (rps * ph["seconds"]) * 1e6 if rps else 0
print(f"{pair}\t{side}\t{rps:.0f}\t{l['p50']:.0f}\t{l['p99']:.0f}\t{l['p999']:.0f}\t{ph['errors']}\t{cpu:.1f}\t{idle}")
PY
  tail -1 "$OUT_DIR/runs.tsv" >&2
}

log "$PAIRS pairs of $SECS s $WORK runs; A: '${SETTINGS[0]}'  B: '${SETTINGS[1]}'"
printf 'pair\tside\trps\tp50_us\tp99_us\tp999_us\terrors\tcpu_us/req\tidle%%\n' >&2
for ((i = 1; i <= PAIRS; i++)); do
  if ((i % 2)); then run_one "$i" A; run_one "$i" B; else run_one "$i" B; run_one "$i" A; fi
done

python3 - "$OUT_DIR/runs.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if not l.startswith("#")][1:]
by = {"A": {}, "B": {}}
for pair, side, rps, p50, p99, p999, errors, cpu, idle in rows:
    by[side][pair] = dict(rps=float(rps), p99=float(p99), cpu=float(cpu), errors=int(errors), idle=float(idle))
pairs = sorted(set(by["A"]) & set(by["B"]), key=int)
for line in open(sys.argv[1]):
    if line.startswith(("# A:", "# B:", "# side ")): print(line.rstrip())
for side in "AB":
    r = [by[side][p] for p in pairs]
    print(f"{side}: req/s mean {statistics.mean(x['rps'] for x in r):,.0f} (median {statistics.median(x['rps'] for x in r):,.0f}), "
          f"p99 median {statistics.median(x['p99'] for x in r):,.0f} us, "
          f"server CPU median {statistics.median(x['cpu'] for x in r):.1f} us/req, errors {sum(x['errors'] for x in r)}")
wins = sum(by["B"][p]["rps"] > by["A"][p]["rps"] for p in pairs)
ratio = statistics.median(by["B"][p]["rps"] / by["A"][p]["rps"] for p in pairs)
print(f"B/A throughput: median of pair ratios {ratio:.3f}; B faster in {wins} of {len(pairs)} pairs")
low = [by[s][p]["idle"] for s in "AB" for p in pairs if by[s][p]["idle"] < 90]
if low:
    print(f"WARNING: {len(low)} run(s) started with the CPUs under 90 % idle (lowest {min(low):.0f} %): other work shared the cores")
PY
echo "runs: $OUT_DIR/runs.tsv" >&2
