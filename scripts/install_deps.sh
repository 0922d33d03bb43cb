#!/usr/bin/env bash
# Installs the Debian 12 packages KyroDB needs to build and test, and nothing
# else. Idempotent and quiet: when everything is present it only asks dpkg and
# exits, so build.sh / test.sh / serve.sh can call it every time.
#
# Usage: scripts/install_deps.sh [--fuzz]
#   --fuzz (or KYRO_FUZZ=1)  also install clang-14 + its libFuzzer runtime
set -euo pipefail

packages=(
  build-essential cmake ninja-build git pkg-config curl
  libboost-dev nlohmann-json3-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
  libxsimd-dev xtl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev
  python3 python3-yaml
)
# python3-yaml: the OpenAPI contract test (tests/contract) reads docs/openapi.yaml
# with Debian's /usr/bin/python3.
# Note: Debian 12 has no libcrc32c-dev; CRC32C comes from Boost.CRC.

fuzz="${KYRO_FUZZ:-0}"
for arg in "$@"; do
  case "$arg" in
    --fuzz) fuzz=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install_deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done
if [[ "$fuzz" == "1" ]]; then
  # The runtime (libFuzzer, ASan) must match the compiler's version, so both
  # are pinned to 14, Debian 12's clang; scripts/fuzz.sh uses clang++-14.
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  # dpkg-query exits 0 for removed-but-configured packages too, so read the state.
  state="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  if [[ "$state" != "installed" ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install_deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo -n)
  else
    echo "install_deps: not root and no sudo; please install: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine are empty or stale: refresh them once,
# only now that something is actually missing.
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_deps: done" >&2
