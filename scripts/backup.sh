#!/usr/bin/env bash
# Online backup of a KyroDB data directory, consistent without stopping the
# server.
#
#   scripts/backup.sh --url http://127.0.0.1:3030 --data-dir /var/lib/kyrodb --out /backups/kyrodb-$(date +%F)
#   scripts/backup.sh --offline --data-dir ./data --out ./backup     # server stopped
#
# Options:
#   --url URL        the running server that owns --data-dir (takes a snapshot first)
#   --offline        the server is stopped: copy the files as they are
#   --data-dir DIR   its data directory (KYRODB_DATA_DIR)
#   --out DIR        backup directory to create (must not exist, or be empty)
#   --bin PATH       kyrodb-engine used to verify the copy (default: $KYRODB_BIN,
#                    then kyrodb-engine on PATH, then build/release/src/kyrodb-engine)
#   --no-verify      skip `kyrodb-engine verify` on the copy (not recommended)
#   --attempts N     copy attempts when a checkpoint races the copy (default 5)
#   --timeout S      seconds the snapshot request may take (default 600)
# Token: KYRODB_ADMIN_TOKEN, else KYRODB_AUTH_TOKEN, from the environment (it
# is passed to curl through a file descriptor, never on the command line).
#
# How it stays consistent while the server writes (docs/OPS.md, "Backup"):
#   1. POST /v1/snapshot: snapshot.bin now holds every write acknowledged so far.
#   2. Copy snapshot.bin, then every wal.* segment, then index-rmi.bin.
#      snapshot.bin is replaced only by rename, so an open copy reads one whole
#      snapshot. A WAL segment copied while the server appends to it may end in
#      a torn record: recovery truncates that tail (writes acknowledged after
#      the copy started are simply not in the backup).
#   3. If snapshot.bin was replaced during the copy (a background checkpoint
#      can then delete WAL segments the copied snapshot still needs), or a
#      segment vanished, start over.
#   4. `kyrodb-engine verify` on the copy; SHA256SUMS and MANIFEST written;
#      files fsynced; the directory renamed into place.
# Exit status: 0 backup complete and verified, 1 failure, 2 usage.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "backup: $*" >&2; exit 1; }

url="" offline=0 data_dir="" out="" bin="${KYRODB_BIN:-}" verify=1 attempts=5 timeout=600
while [[ $# -gt 0 ]]; do
  case "$1" in
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --offline) offline=1; shift ;;
    --data-dir) data_dir="${2:?--data-dir needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a value}"; shift 2 ;;
    --bin) bin="${2:?--bin needs a value}"; shift 2 ;;
    --no-verify) verify=0; shift ;;
    --attempts) attempts="${2:?--attempts needs a value}"; shift 2 ;;
    --timeout) timeout="${2:?--timeout needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "backup: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$data_dir" && -n "$out" ]] || { echo "backup: --data-dir and --out are required (see --help)" >&2; exit 2; }
if [[ -z "$url" && $offline -eq 0 ]]; then
  echo "backup: give --url of the running server, or --offline if it is stopped" >&2; exit 2
fi
[[ "$attempts" =~ ^[1-9][0-9]*$ ]] || { echo "backup: --attempts must be a positive number" >&2; exit 2; }
[[ -d "$data_dir" ]] || die "data directory $data_dir does not exist"
if [[ -e "$out" ]] && [[ -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  die "$out exists and is not empty: choose a new backup directory"
fi

find_bin() {
  if [[ -n "$bin" ]]; then [[ -x "$bin" ]] || die "--bin $bin is not executable"; return; fi
  if command -v kyrodb-engine >/dev/null 2>&1; then bin="$(command -v kyrodb-engine)"; return; fi
  local repo_bin
  repo_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/release/src/kyrodb-engine"
  if [[ -x "$repo_bin" ]]; then bin="$repo_bin"; fi
}
if [[ $verify -eq 1 ]]; then
  find_bin
  [[ -n "$bin" ]] || die "no kyrodb-engine to verify the copy with: pass --bin (or --no-verify)"
fi

token="${KYRODB_ADMIN_TOKEN:-${KYRODB_AUTH_TOKEN:-}}"
# curl with the token (if any) as a header read from a file descriptor.
api() {  # method path [curl args...]
  local method="$1" path="$2"; shift 2
  if [[ -n "$token" ]]; then
    curl -sS --fail-with-body --max-time "$timeout" -X "$method" \
      -H @<(printf 'Authorization: Bearer %s\n' "$token") "$@" "${url%/}$path"
  else
    curl -sS --fail-with-body --max-time "$timeout" -X "$method" "$@" "${url%/}$path"
  fi
}

parent="$(dirname "$out")"
mkdir -p "$parent"
stage="$(mktemp -d "$parent/.$(basename "$out").partial.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

snapshot_reply="" build_info=""
if [[ $offline -eq 0 ]]; then
  command -v curl >/dev/null 2>&1 || die "curl is needed for --url"
  build_info="$(api GET /build_info 2>/dev/null || true)"
  echo "backup: POST ${url%/}/v1/snapshot" >&2
  snapshot_reply="$(api POST /v1/snapshot)" || die "snapshot request failed: $snapshot_reply"
  [[ "$snapshot_reply" == *'"status":"ok"'* ]] || die "snapshot request failed: $snapshot_reply"
  echo "backup: snapshot $snapshot_reply" >&2
fi

file_id() { stat -c '%d:%i:%s:%Y' "$1" 2>/dev/null || echo absent; }

copy_once() {  # copies into $stage; returns 1 when the copy raced a checkpoint
  rm -rf "${stage:?}"/*
  local snap="$data_dir/snapshot.bin" before after seg name
  before="$(file_id "$snap")"
  if [[ -e "$snap" ]]; then
    cp -- "$snap" "$stage/snapshot.bin" || return 1
  fi
  local segs=()
  while IFS= read -r seg; do segs+=("$seg"); done < <(
    find "$data_dir" -maxdepth 1 -type f -name 'wal.*' ! -name '*.tmp' -printf '%f\n' | LC_ALL=C sort)
  for name in "${segs[@]}"; do
    if ! cp -- "$data_dir/$name" "$stage/$name" 2>/dev/null; then
      echo "backup: $name vanished during the copy (compaction); starting over" >&2
      return 1
    fi
  done
  # The index is rebuildable and bound to its snapshot (a mismatch is rejected
  # and rebuilt at start), so a raced copy only costs a rebuild; keep it only
  # when it did not change while it was copied.
  local idx="$data_dir/index-rmi.bin" ib ia
  if [[ -e "$idx" ]]; then
    ib="$(file_id "$idx")"
    if cp -- "$idx" "$stage/index-rmi.bin" 2>/dev/null; then
      ia="$(file_id "$idx")"
      [[ "$ib" == "$ia" ]] || rm -f "$stage/index-rmi.bin"
    fi
  fi
  local other
  other="$(find "$data_dir" -maxdepth 1 -type f ! -name 'wal.*' ! -name 'snapshot.bin' ! -name 'index-rmi.bin' \
    ! -name '*.tmp' -printf '%f ' 2>/dev/null || true)"
  [[ -z "$other" ]] || echo "backup: note: not part of a KyroDB store, not copied: $other" >&2
  after="$(file_id "$snap")"
  if [[ "$before" != "$after" ]]; then
    echo "backup: snapshot.bin was replaced during the copy (checkpoint); starting over" >&2
    return 1
  fi
  if [[ ${#segs[@]} -eq 0 && ! -e "$stage/snapshot.bin" ]]; then
    echo "backup: $data_dir holds no snapshot.bin and no wal.* (empty store)" >&2
  fi
  return 0
}

ok=0
for ((attempt = 1; attempt <= attempts; attempt++)); do
  if ! copy_once; then sleep 1; continue; fi
  if [[ $verify -eq 1 ]]; then
    if ! report="$("$bin" verify --data-dir "$stage" 2>&1)"; then
      echo "$report" >&2
      echo "backup: verify failed on attempt $attempt; starting over" >&2
      sleep 1
      continue
    fi
    printf '%s\n' "$report" | sed 's/^/backup: /' >&2
  fi
  ok=1
  break
done
[[ $ok -eq 1 ]] || die "no consistent copy after $attempts attempts"

(
  cd "$stage"
  shopt -s nullglob
  files=(snapshot.bin wal.* index-rmi.bin)
  existing=()
  for f in "${files[@]}"; do [[ -e "$f" ]] && existing+=("$f"); done
  if [[ ${#existing[@]} -gt 0 ]]; then sha256sum -- "${existing[@]}" > SHA256SUMS; else : > SHA256SUMS; fi
)
{
  echo "created: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(hostname 2>/dev/null || echo unknown)"
  echo "source_data_dir: $(cd "$data_dir" && pwd)"
  if [[ $offline -eq 0 ]]; then
    echo "source_url: $url"
    echo "snapshot: $snapshot_reply"
    echo "build_info: ${build_info:-unknown}"
  else
    echo "mode: offline"
  fi
  echo "verified: $([[ $verify -eq 1 ]] && echo yes || echo no)"
} > "$stage/MANIFEST"

sync -- "$stage"/* "$stage"
if [[ -d "$out" ]]; then rmdir -- "$out"; fi
mv -- "$stage" "$out"
trap - EXIT
sync -- "$parent" 2>/dev/null || true
echo "backup: complete: $out ($(du -sh "$out" | cut -f1))" >&2
