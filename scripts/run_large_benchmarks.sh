#!/usr/bin/env bash
# Runs the kv_index benchmark at 10M and 50M keys (issue 3 targets) and draws
# bench/rmi_vs_btree.png from the JSON results.
#
#   scripts/run_large_benchmarks.sh            # build dir build/release
#   BUILD_DIR=build/idx SIZES="10000000" scripts/run_large_benchmarks.sh
#
# Environment:
#   BUILD_DIR  CMake build dir holding bench/kv_index (default build/release;
#              configured with the `release` preset if missing)
#   OUT_DIR    where the JSON goes (default bench/results)
#   SIZES      key counts (default "10000000 50000000")
#   DISTS      distributions (default uniform,lognormal,normal,clusters at 10M,
#              uniform,lognormal at larger sizes to bound the run time)
#   FILTER     Google Benchmark --benchmark_filter (default: everything)
#   MIN_TIME   --benchmark_min_time per benchmark (default 1.0)
#   PYTHON     interpreter for the plot (default python3; needs matplotlib)
# Memory: std::map at 50M keys needs ~3.5 GB, the whole run ~5 GB peak.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build/release}"
OUT_DIR="${OUT_DIR:-bench/results}"
SIZES="${SIZES:-10000000 50000000}"
FILTER="${FILTER:-.}"
MIN_TIME="${MIN_TIME:-1.0}"
cd "$ROOT"

if [[ ! -x "$BUILD_DIR/bench/kv_index" ]]; then
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKYRODB_WERROR=ON
  fi
  cmake --build "$BUILD_DIR" --target kv_index -j "${JOBS:-2}"
fi
BIN="$BUILD_DIR/bench/kv_index"
mkdir -p "$OUT_DIR"

{
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs"
  echo "commit:  $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} | tee "$OUT_DIR/machine.txt"

for n in $SIZES; do
  if [[ -n "${DISTS:-}" ]]; then
    dists="$DISTS"
  elif (( n <= 10000000 )); then
    dists="uniform,lognormal,normal,clusters"
  else
    dists="uniform,lognormal"
  fi
  out="$OUT_DIR/kv_index_${n}.json"
  echo "== kv_index: $n keys, $dists -> $out"
  KYRO_BENCH_N="$n" KYRO_BENCH_DISTS="$dists" "$BIN" \
    --benchmark_filter="$FILTER" --benchmark_min_time="$MIN_TIME" \
    --benchmark_out="$out" --benchmark_out_format=json
done

"${PYTHON:-python3}" "$ROOT/scripts/generate_plots.py" "$OUT_DIR"/kv_index_*.json -o "$ROOT/bench/rmi_vs_btree.png"
