#!/usr/bin/env bash
# The README's first command: install what is missing, build Release and serve.
#
#   scripts/serve.sh [extra kyrodb-engine flags...]
#
# Serves on ${KYRODB_HOST:-127.0.0.1}:${KYRODB_PORT:-3030} with data in
# ${KYRODB_DATA_DIR:-./data} (relative to the repository root). Every other
# KYRODB_* variable reaches the server unchanged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/build.sh release >&2

host="${KYRODB_HOST:-127.0.0.1}"
port="${KYRODB_PORT:-3030}"
data_dir="${KYRODB_DATA_DIR:-./data}"
exec build/release/src/kyrodb-engine serve "$host" "$port" --data-dir "$data_dir" "$@"
