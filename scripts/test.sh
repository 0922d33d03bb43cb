#!/usr/bin/env bash
# The README's second command: install what is missing, build, run every test.
#
#   1. release: build everything, run every ctest test (parallel, -j2)
#   2. asan:    ASan+UBSan build of the tests labelled unit|integration, run them
#   3. tsan:    TSan build of the tests labelled concurrency, run them
#
# Knobs:
#   KYRO_SANITIZERS=0   skip phases 2 and 3 (quick local runs; CI runs them)
#   KYRO_CTEST_ARGS     extra ctest arguments for every phase (e.g. "-R api")
#   KYRO_CRASH_CYCLES   cycles of the kill -9 crash test (default 20)
# Exit status is non-zero if any build or test failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="$(nproc 2>/dev/null || echo 2)"
sanitizers="${KYRO_SANITIZERS:-1}"
read -r -a extra_ctest <<<"${KYRO_CTEST_ARGS:-}"
logdir="build/test-logs"
mkdir -p "$logdir"
rm -f "$logdir"/ctest-*.log

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

start_all="$(now)"

t0="$(now)"
if bash scripts/install_deps.sh; then
  record "install deps" "$(( $(now) - t0 ))" "ok"
else
  record "install deps" "$(( $(now) - t0 ))" "FAIL"
fi

if [[ $failed -eq 0 ]]; then
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

  if [[ "$sanitizers" != "0" ]]; then
    build_for_label asan 'unit|integration'
    if [[ $built_ok -eq 1 ]]; then run_ctest asan -L 'unit|integration'; fi
    build_for_label tsan 'concurrency'
    if [[ $built_ok -eq 1 ]]; then run_ctest tsan -L 'concurrency'; fi
  else
    echo "=== KYRO_SANITIZERS=0: skipping the ASan+UBSan and TSan passes"
  fi
fi

echo
echo "=== summary (total $(( $(now) - start_all ))s)"
for i in "${!phase_names[@]}"; do
  printf '  %-14s %5ss  %s\n' "${phase_names[$i]}" "${phase_secs[$i]}" "${phase_results[$i]}"
done
# Repeat ctest's own closing line of the full (release) run last, verbatim,
# so a reader of the tail sees how many tests ran and failed.
if [[ -f "$logdir/ctest-release.log" ]]; then
  grep -E '^[0-9]+% tests passed' "$logdir/ctest-release.log" | tail -1
fi
exit "$failed"
