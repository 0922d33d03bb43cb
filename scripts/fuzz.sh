#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang + ASan + UBSan in
# build/fuzz and runs each one for a fixed time on a temporary copy of its
# committed seed corpus (tests/fuzz/corpus/<target>; the repo is not touched).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 10: ~95 s of fuzzing
#        for the 9 targets, plus the first build, ~5 min on 2 cores)
#
# Prints one line per target (execs, seconds, result) and a last line
# "fuzz: N passed, M failed"; exits non-zero if any target crashed, leaked,
# hung (one input > 25 s), ran out of memory (2 GiB) or broke an invariant.
# A failing input is kept under build/fuzz/artifacts/<target>/: reproduce it
# with  build/fuzz/tests/fuzz/<target> <file>.
#
# Knobs:
#   KYRO_FUZZ_TARGETS="fuzz_wal_segment fuzz_snapshot"   run only these
#   KYRO_FUZZ_JOBS=2          build parallelism (default 2)
#   KYRO_FUZZ_BUILD_DIR=build/fuzz   where to configure and build (default
#                             build/fuzz; the paths below assume it)
#
# Fuzzing for hours (build once with this script, e.g. `scripts/fuzz.sh 1`):
#   scripts/fuzz.sh 3600                 one hour per target, one after another
#   or one target on both cores, keeping what it finds in a corpus of your own
#   (new inputs go to the first directory, the seeds are only read):
#     mkdir -p /tmp/corpus-wal
#     build/fuzz/tests/fuzz/fuzz_wal_segment -jobs=2 -workers=2 \
#         -max_total_time=36000 -rss_limit_mb=2048 -timeout=25 \
#         /tmp/corpus-wal tests/fuzz/corpus/fuzz_wal_segment
#   A crash is written to ./crash-<sha1>; shrink it with
#     build/fuzz/tests/fuzz/fuzz_wal_segment -minimize_crash=1 -runs=100000 crash-<sha1>
#   and commit it as tests/fuzz/corpus/<target>/crash-<what> once the bug is
#   fixed, so every later run replays it. Each harness's input layout is at
#   the top of its .cpp; tests/fuzz/make_corpus.cpp regenerates the seeds.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

secs="${1:-10}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [[ "$secs" -lt 1 ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
all_targets=(fuzz_wal_record fuzz_wal_segment fuzz_snapshot fuzz_index_file fuzz_http_key fuzz_http_json fuzz_http_url
  fuzz_http_request fuzz_http_session)
read -r -a targets <<<"${KYRO_FUZZ_TARGETS:-${all_targets[*]}}"
jobs="${KYRO_FUZZ_JOBS:-2}"
build="${KYRO_FUZZ_BUILD_DIR:-build/fuzz}"
bindir="$build/tests/fuzz"

# Quiet and idempotent when clang and the libFuzzer runtime are installed.
if ! bash scripts/install_deps.sh --fuzz; then
  echo "fuzz: could not install clang-14 / libclang-rt-14-dev" >&2
  echo "fuzz: 0 passed, ${#targets[@]} failed (clang-14 not installed)"
  exit 1
fi

mkdir -p "$build"
if [[ ! -f "$build/build.ninja" ]]; then
  # attach.cmake adds tests/fuzz when the top-level CMakeLists.txt does not.
  if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
      -DKYRODB_BUILD_FUZZ=ON -DKYRODB_BUILD_TESTS=OFF -DKYRODB_BUILD_BENCH=OFF \
      -DCMAKE_PROJECT_INCLUDE="$PWD/tests/fuzz/attach.cmake" >"$build/configure.log" 2>&1; then
    cat "$build/configure.log"
    rm -f "$build/build.ninja"
    echo "fuzz: 0 passed, ${#targets[@]} failed (configure failed)"
    exit 1
  fi
fi
echo "=== fuzz: building ${#targets[@]} targets in $build"
if ! cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1; then
  grep -E 'error|FAILED' "$build/build.log" | head -40
  echo "fuzz: 0 passed, ${#targets[@]} failed (build failed: $build/build.log)"
  exit 1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

work="$(mktemp -d "${TMPDIR:-/tmp}/kyrodb-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
echo "=== fuzz: ${secs}s per target"
for t in "${targets[@]}"; do
  corpus="$work/$t"
  mkdir -p "$corpus" "$work/artifacts-$t"
  cp tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
  dict=()
  dict_file="tests/fuzz/$t.dict"
  # The session harness sends requests too: it shares the request dictionary.
  if [[ "$t" == fuzz_http_session ]]; then dict_file="tests/fuzz/fuzz_http_request.dict"; fi
  if [[ -f "$dict_file" ]]; then dict=(-dict="$dict_file"); fi
  log="$work/$t.log"
  t0="$(date +%s)"
  # timeout: a last resort should libFuzzer itself get stuck (exit 124).
  timeout -k 10 $((secs + 120)) \
  "$bindir/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$work/artifacts-$t/" "$corpus" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - t0 ))
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  execs="${execs:-?}"
  if [[ $rc -eq 0 ]]; then
    result="ok"
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    kept="$build/artifacts/$t"
    mkdir -p "$kept"
    cp "$work/artifacts-$t"/* "$kept"/ 2>/dev/null
    artifact="$(ls "$work/artifacts-$t" 2>/dev/null | head -1)"
    result="FAIL (exit $rc${artifact:+, input kept as $kept/$artifact})"
    echo "--- $t: end of its log"
    grep -vE '^#[0-9]+|^INFO:|^MS:|^base unit:|^0x' "$log" | tail -40
  fi
  printf 'fuzz %-18s execs=%-10s time=%4ss  %s\n' "$t" "$execs" "$took" "$result"
done

echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
