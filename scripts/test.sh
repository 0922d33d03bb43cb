#!/usr/bin/env bash
# The README's second command: install what is missing, build, run every test.
#
#   1. release: build everything, run every ctest test (parallel, -j2)
#   2. asan:    ASan+UBSan build of the tests labelled unit|integration, run them
#   3. tsan:    TSan build of the tests labelled concurrency, run them
#   4. fuzz:    scripts/fuzz.sh: clang build of the libFuzzer targets (tests/fuzz)
#               in build/fuzz, each run KYRO_FUZZ_SECONDS from its committed seed
#               corpus (9 targets x 10 s + the build: ~3-5 min on 2 cores); a
#               crash, leak, hang or broken invariant fails the phase, and the
#               input is kept under build/fuzz/artifacts/<target>/
#
# Knobs:
#   KYRO_SANITIZERS=0   skip phases 2 and 3 (quick local runs; CI runs them)
#   KYRO_FUZZ_SECONDS   seconds per fuzz target in phase 4 (default 10);
#                       0 skips the phase (and the clang install it needs)
#   KYRO_PHASES         which phases run (default "release asan tsan fuzz"),
#                       e.g. KYRO_PHASES=fuzz for the fuzz phase alone
#   KYRO_CTEST_ARGS     extra ctest arguments for every phase (e.g. "-R api")
#   KYRO_CRASH_CYCLES   cycles of the kill -9 crash test (default 100)
# The last lines are a table of every phase (time, result) and ctest's own
# closing line of the release run.
# Exit status is non-zero if any build, test or fuzz target failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="$(nproc 2>/dev/null || echo 2)"
sanitizers="${KYRO_SANITIZERS:-1}"
fuzz_secs="${KYRO_FUZZ_SECONDS:-10}"
read -r -a phases <<<"${KYRO_PHASES:-release asan tsan fuzz}"
want() { [[ " ${phases[*]} " == *" $1 "* ]]; }
read -r -a extra_ctest <<<"${KYRO_CTEST_ARGS:-}"
logdir="build/test-logs"
mkdir -p "$logdir"
# Only the logs of phases that run now: a stale one would be quoted in the
# summary as if it were this run's.
for p in "${phases[@]}"; do rm -f "$logdir/ctest-$p.log" "$logdir/$p.log"; done

# Sanitizer runtime settings: fail loudly and show where.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

phase_names=()
phase_secs=()
phase_results=()
failed=0

record() {  # name seconds result
  phase_names+=("$1"); phase_secs+=("$2"); phase_results+=("$3")
  if [[ "$3" == FAIL* ]]; then failed=1; fi
}

now() { date +%s; }

# Runs ctest for a preset, teeing its output so the summary line can be
# repeated at the end. $1 = preset, $2.. = extra ctest args.
run_ctest() {
  local preset="$1"; shift
  local log="$logdir/ctest-$preset.log"
  local t0 rc result summary
  t0="$(now)"
  # TSan on kernels with many ASLR bits can refuse to start; without address
  # randomisation its shadow mapping always fits. setarch is in util-linux.
  local wrap=()
  if [[ "$preset" == "tsan" ]] && command -v setarch >/dev/null 2>&1; then
    wrap=(setarch "$(uname -m)" -R)
  fi
  echo "=== ctest --preset $preset $*"
  "${wrap[@]}" ctest --preset "$preset" -j"$jobs" --output-on-failure "$@" "${extra_ctest[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary="$(grep -E 'tests passed|No tests were found' "$log" | tail -1)"
  if [[ $rc -ne 0 ]]; then
    result="FAIL (${summary:-ctest exit $rc})"
  elif [[ "$summary" == *"No tests were found"* ]]; then
    result="no tests"
  else
    result="ok (${summary})"
  fi
  record "test $preset" "$(( $(now) - t0 ))" "$result"
}

# Configures a sanitizer preset and builds only what the selected tests need
# (building benches and unrelated tests under a sanitizer doubles CI time).
# $1 = preset, $2 = ctest label regex. Sets built_ok=1 on success.
build_for_label() {
  local preset="$1" label="$2"
  local t0 names targets want=() full=0 n
  t0="$(now)"
  built_ok=0
  echo "=== configure + build $preset (tests labelled '$label')"
  if ! cmake --preset "$preset" >"$logdir/configure-$preset.log" 2>&1; then
    cat "$logdir/configure-$preset.log"
    record "build $preset" "$(( $(now) - t0 ))" "FAIL (configure)"
    return
  fi
  names="$(ctest --preset "$preset" -N -L "$label" 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: *//p')"
  if [[ -z "$names" ]]; then
    record "build $preset" "$(( $(now) - t0 ))" "skipped (no tests labelled '$label')"
    return
  fi
  targets="$(ninja -C "build/$preset" -t targets all 2>/dev/null | cut -d: -f1)"
  for n in $names; do
    if grep -qxF "$n" <<<"$targets"; then want+=("$n"); else full=1; fi
  done
  if grep -qxF kyrodb-engine <<<"$targets"; then want+=(kyrodb-engine); fi
  local build_args=()
  if [[ $full -eq 0 ]]; then build_args=(--target "${want[@]}"); fi
  if cmake --build --preset "$preset" -j"$jobs" "${build_args[@]}"; then
    built_ok=1
    record "build $preset" "$(( $(now) - t0 ))" "ok"
  else
    record "build $preset" "$(( $(now) - t0 ))" "FAIL (build)"
  fi
}

# Phase 4: every libFuzzer target for fuzz_secs from its seed corpus. The
# per-target lines and, for a failure, the end of its log are printed here;
# the summary row names the targets that failed.
run_fuzz() {
  local t0 rc last bad
  t0="$(now)"
  echo "=== fuzz: scripts/fuzz.sh $fuzz_secs (build + ${fuzz_secs}s per target)"
  bash scripts/fuzz.sh "$fuzz_secs" 2>&1 | tee "$logdir/fuzz.log"
  rc=${PIPESTATUS[0]}
  last="$(grep -E '^fuzz: [0-9]+ passed' "$logdir/fuzz.log" | tail -1)"
  last="${last#fuzz: }"
  if [[ $rc -eq 0 ]]; then
    record "fuzz" "$(( $(now) - t0 ))" "ok (${last:-fuzz.sh exit 0}, ${fuzz_secs}s each)"
  else
    bad="$(sed -n 's/^fuzz \([a-z_]*\) .*  FAIL.*/\1/p' "$logdir/fuzz.log" | tr '\n' ' ')"
    record "fuzz" "$(( $(now) - t0 ))" "FAIL (${last:-fuzz.sh exit $rc}${bad:+: ${bad% }}; see $logdir/fuzz.log)"
  fi
}

start_all="$(now)"

fuzz_on=0
if [[ "$fuzz_secs" =~ ^[0-9]+$ ]]; then fuzz_secs=$((10#$fuzz_secs)); fi  # "08" is not octal
if want fuzz && [[ "$fuzz_secs" =~ ^[0-9]+$ && "$fuzz_secs" -gt 0 ]]; then fuzz_on=1; fi

for p in "${phases[@]}"; do
  case "$p" in
    release|asan|tsan|fuzz) ;;
    *) record "KYRO_PHASES" 0 "FAIL (unknown phase '$p': expected release, asan, tsan, fuzz)" ;;
  esac
done

t0="$(now)"
deps_args=()
if [[ $fuzz_on -eq 1 ]]; then deps_args=(--fuzz); fi  # clang-14 + libFuzzer runtime
deps_ok=0
if bash scripts/install_deps.sh "${deps_args[@]}"; then
  deps_ok=1
  record "install deps" "$(( $(now) - t0 ))" "ok"
else
  record "install deps" "$(( $(now) - t0 ))" "FAIL"
fi

if ! want release; then
  record "release" 0 "skipped (not in KYRO_PHASES)"
elif [[ $deps_ok -eq 1 ]]; then
  t0="$(now)"
  echo "=== configure + build release"
  if ! cmake --preset release >"$logdir/configure-release.log" 2>&1; then
    cat "$logdir/configure-release.log"
    record "build release" "$(( $(now) - t0 ))" "FAIL (configure)"
  elif ! cmake --build --preset release -j"$jobs"; then
    record "build release" "$(( $(now) - t0 ))" "FAIL (build)"
  else
    record "build release" "$(( $(now) - t0 ))" "ok"
    run_ctest release
  fi
fi

if ! want asan && ! want tsan; then
  record "asan, tsan" 0 "skipped (not in KYRO_PHASES)"
elif [[ $deps_ok -eq 1 ]]; then
  if [[ "$sanitizers" != "0" ]]; then
    if want asan; then
      build_for_label asan 'unit|integration'
      if [[ $built_ok -eq 1 ]]; then run_ctest asan -L 'unit|integration'; fi
    fi
    if want tsan; then
      build_for_label tsan 'concurrency'
      if [[ $built_ok -eq 1 ]]; then run_ctest tsan -L 'concurrency'; fi
    fi
  else
    echo "=== KYRO_SANITIZERS=0: skipping the ASan+UBSan and TSan passes"
    record "asan, tsan" 0 "skipped (KYRO_SANITIZERS=0)"
  fi
fi

# Last, so its per-target lines sit right above the summary. It runs even
# when an earlier phase failed: its verdict is independent of theirs.
if ! want fuzz; then
  record "fuzz" 0 "skipped (not in KYRO_PHASES)"
elif ! [[ "$fuzz_secs" =~ ^[0-9]+$ ]]; then
  record "fuzz" 0 "FAIL (KYRO_FUZZ_SECONDS='$fuzz_secs' is not a whole number of seconds)"
elif [[ $fuzz_on -eq 0 ]]; then
  record "fuzz" 0 "skipped (KYRO_FUZZ_SECONDS=0)"
elif [[ $deps_ok -eq 1 ]]; then
  run_fuzz
fi

echo
echo "=== summary (total $(( $(now) - start_all ))s)"
for i in "${!phase_names[@]}"; do
  printf '  %-14s %5ss  %s\n' "${phase_names[$i]}" "${phase_secs[$i]}" "${phase_results[$i]}"
done
# Repeat ctest's own closing line of the full (release) run last, verbatim,
# so a reader of the tail sees how many tests ran and failed.
if want release && [[ -f "$logdir/ctest-release.log" ]]; then
  grep -E '^[0-9]+% tests passed' "$logdir/ctest-release.log" | tail -1
fi
exit "$failed"
