#!/usr/bin/env bash
# Installs what is missing, then configures and builds one CMake preset
# (release | debug | asan | tsan) into build/<preset>.
#
# Usage: scripts/build.sh [preset] [-- extra cmake --build args, e.g. --target x]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

preset="${1:-release}"
shift || true
if [[ "${1:-}" == "--" ]]; then shift; fi
case "$preset" in
  release|debug|asan|tsan) ;;
  *) echo "build.sh: unknown preset '$preset' (release, debug, asan, tsan)" >&2; exit 2 ;;
esac

bash scripts/install_deps.sh
jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"$jobs" "$@"
