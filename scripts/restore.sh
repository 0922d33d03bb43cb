#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into a NEW data directory and
# checks it with `kyrodb-engine verify` before it is put in place.
#
#   scripts/restore.sh --from /backups/kyrodb-2026-11-24 --to /var/lib/kyrodb-restored
#   kyrodb-engine serve 127.0.0.1 3030 --data-dir /var/lib/kyrodb-restored
#
# Options:
#   --from DIR     backup directory (holds snapshot.bin, wal.*, SHA256SUMS, MANIFEST)
#   --to DIR       data directory to create (must not exist, or be empty): a
#                  restore never overwrites a live store
#   --bin PATH     kyrodb-engine for verify (default: $KYRODB_BIN, then
#                  kyrodb-engine on PATH, then build/release/src/kyrodb-engine)
#   --owner U:G    chown the restored files (e.g. kyrodb:kyrodb, or 10001:10001
#                  for the Docker image's user)
# Exit status: 0 restored and verified, 1 failure, 2 usage.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "restore: $*" >&2; exit 1; }

from="" to="" bin="${KYRODB_BIN:-}" owner=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --from) from="${2:?--from needs a value}"; shift 2 ;;
    --to) to="${2:?--to needs a value}"; shift 2 ;;
    --bin) bin="${2:?--bin needs a value}"; shift 2 ;;
    --owner) owner="${2:?--owner needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "restore: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$from" && -n "$to" ]] || { echo "restore: --from and --to are required (see --help)" >&2; exit 2; }
[[ -d "$from" ]] || die "backup directory $from does not exist"
if [[ -e "$to" ]] && { [[ ! -d "$to" ]] || [[ -n "$(ls -A "$to" 2>/dev/null)" ]]; }; then
  die "$to exists and is not empty: restore into a new directory, then point the server at it"
fi

if [[ -z "$bin" ]]; then
  if command -v kyrodb-engine >/dev/null 2>&1; then
    bin="$(command -v kyrodb-engine)"
  else
    bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/release/src/kyrodb-engine"
  fi
fi
[[ -x "$bin" ]] || die "kyrodb-engine not found ($bin): pass --bin"

shopt -s nullglob
files=()
for f in "$from"/snapshot.bin "$from"/wal.* "$from"/index-rmi.bin; do
  [[ -f "$f" && "$f" != *.tmp ]] && files+=("$f")
done
[[ ${#files[@]} -gt 0 ]] || die "$from holds no snapshot.bin and no wal.*: not a backup"

if [[ -f "$from/SHA256SUMS" ]]; then
  (cd "$from" && sha256sum --quiet --strict -c SHA256SUMS >&2) || die "checksums in $from/SHA256SUMS do not match: the backup is damaged"
  echo "restore: checksums OK" >&2
else
  echo "restore: no SHA256SUMS in $from: relying on verify alone" >&2
fi

parent="$(dirname "$to")"
mkdir -p "$parent"
stage="$(mktemp -d "$parent/.$(basename "$to").restore.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
cp -- "${files[@]}" "$stage/"

if ! report="$("$bin" verify --data-dir "$stage" 2>&1)"; then
  printf '%s\n' "$report" >&2
  die "verify failed: $from is not a usable backup"
fi
printf '%s\n' "$report" | sed 's/^/restore: /' >&2

if [[ -n "$owner" ]]; then chown -R -- "$owner" "$stage"; fi
chmod 0750 "$stage"
sync -- "$stage"/* "$stage"
if [[ -d "$to" ]]; then rmdir -- "$to"; fi
mv -- "$stage" "$to"
trap - EXIT
sync -- "$parent" 2>/dev/null || true
echo "restore: restored into $to; start it with: kyrodb-engine serve HOST PORT --data-dir $to" >&2
