#!/bin/bash
# Container health probe: GET /health on the local server, healthy on 200.
#
# Uses only bash (its /dev/tcp) and coreutils' timeout, so the runtime image
# needs no curl. /health answers 200 while serving, also when the store has
# turned read-only after an I/O error (reads still work, and a restart would
# not fix a full disk: the alert KyroDBReadOnly covers it); 503 while
# recovering or draining.
#
# Environment: KYRODB_PORT (default 3030), KYRODB_HEALTH_HOST (default
# 127.0.0.1), KYRODB_HEALTH_TIMEOUT seconds (default 2).
set -u
host="${KYRODB_HEALTH_HOST:-127.0.0.1}"
port="${KYRODB_PORT:-3030}"
# A port of 0 means "pick one" to the server; nothing to probe then.
[[ "$port" =~ ^[1-9][0-9]*$ ]] || { echo "kyrodb-healthcheck: KYRODB_PORT=$port is not a fixed port" >&2; exit 1; }

status_line="$(timeout "${KYRODB_HEALTH_TIMEOUT:-2}" bash -c '
  exec 3<>"/dev/tcp/$1/$2" || exit 1
  printf "GET /health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$1" >&3
  IFS= read -r line <&3 || exit 1
  printf "%s\n" "$line"
' probe "$host" "$port" 2>/dev/null)"
status_line="${status_line%$'\r'}"
case "$status_line" in
  "HTTP/1."[01]" 200"*) exit 0 ;;
  "") echo "kyrodb-healthcheck: no answer from $host:$port" >&2; exit 1 ;;
  *) echo "kyrodb-healthcheck: $status_line" >&2; exit 1 ;;
esac
