#!/usr/bin/env bash
# Lints docs/openapi.yaml with Redocly CLI (its "recommended" rules) and fails
# on any error or warning. The linter comes from the npm registry, pinned,
# into build/tools/openapi-lint (never into the repository); later runs reuse
# it. Node.js and npm come from Debian when missing.
#
# Usage: scripts/openapi_check.sh [--spec FILE] [--tools DIR]
# Registered with ctest as `openapi_lint` (label contract).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
spec="$repo/docs/openapi.yaml"
tools="$repo/build/tools/openapi-lint"
# 1.34.x: the newest line that runs on Debian 12's Node.js 18 as well as on 20.
redocly_version="1.34.20"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --spec) spec="$2"; shift 2 ;;
    --tools) tools="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "openapi_check: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -f "$spec" ]] || { echo "openapi_check: no such file: $spec" >&2; exit 1; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [[ "$(id -u)" != "0" ]]; then
    echo "openapi_check: node and npm are needed: apt-get install nodejs npm" >&2
    exit 1
  fi
  echo "openapi_check: installing nodejs and npm from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

bin="$tools/node_modules/.bin/redocly"
installed="$(cat "$tools/node_modules/@redocly/cli/package.json" 2>/dev/null |
  sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' | head -1 || true)"
if [[ ! -x "$bin" || "$installed" != "$redocly_version" ]]; then
  echo "openapi_check: installing @redocly/cli@$redocly_version into $tools" >&2
  mkdir -p "$tools"
  # A package.json of its own keeps npm from walking up into the repository.
  [[ -f "$tools/package.json" ]] || echo '{"name": "kyrodb-openapi-lint", "private": true}' >"$tools/package.json"
  (cd "$tools" && npm install --no-audit --no-fund --loglevel=error --save-exact \
    "@redocly/cli@$redocly_version" >&2)
fi

# No telemetry, no update check: CI reaches only the package registries.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
out="$("$bin" lint --format=stylish "$spec" 2>&1)" && rc=0 || rc=$?
echo "$out"
if [[ $rc -ne 0 ]]; then
  echo "openapi_check: FAILED: $spec has errors" >&2
  exit 1
fi
if grep -qE 'You have [0-9]+ warnings?' <<<"$out"; then
  echo "openapi_check: FAILED: $spec has warnings" >&2
  exit 1
fi
echo "openapi_check: $spec is valid (@redocly/cli $redocly_version, recommended rules)"
