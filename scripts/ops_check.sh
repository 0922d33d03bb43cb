#!/usr/bin/env bash
# Operations checks: the delivery files (Docker, compose, systemd, Prometheus,
# Grafana, docs/OPS.md, backup/restore, the README's curl examples) exercised
# against the real kyrodb-engine on loopback. One line per check; exit status
# non-zero when any check failed. Registered as ctest tests (tests/ops, label
# "ops"), one per check.
#
#   scripts/ops_check.sh [--bin PATH] [CHECK...]     (no CHECK: all of them)
#
# Checks:
#   deps        install what the checks need (apt-get; quick when present)
#   docs        every KYRODB_* variable of src/ and `--help` is in docs/OPS.md
#               with its flag and default; nothing stale is documented
#   readme      README "Basic operations" curl lines run against a live server
#   rules       promtool check config/rules + promtool test rules
#   prometheus  Debian's prometheus scrapes a live server with
#               docs/prometheus/prometheus.yml: target up, a counter moves,
#               every alert rule and dashboard query evaluates; promtool
#               check metrics on /metrics
#   dashboard   Grafana JSON valid; every kyrodb_* name in it and in the alert
#               rules exists on a live /metrics
#   systemd     systemd-analyze verify + security --offline (score ceiling);
#               the server's traced system calls pass the unit's filter
#   docker      Dockerfile lint + structure, runtime libraries vs ldd,
#               docker-compose config, healthcheck and image environment
#               against a live non-root server (no Docker daemon needed)
#   backup      backup.sh while writes go on -> restore.sh -> second server
#               reads everything back
#   image       (opt-in, not part of "all": ~10 min, compiles the server
#               again) builds docker/Dockerfile for real with podman
#               (daemonless) on a debootstrapped Debian 12 base, runs the
#               image, checks user, health, persistence and a clean SIGTERM
#
# Environment: KYRODB_BIN (binary; default build/release/src/kyrodb-engine),
# OPS_CHECK_TIMEOUT (seconds per check, default 150; image: 1800),
# OPS_CHECK_KEEP=1 keeps the temporary directories, OPS_SECURITY_MAX (systemd
# exposure ceiling, 2.0), OPS_IMAGE_REUSE=1 (image: test the image built last
# time instead of rebuilding). Edit this file only while no check runs: bash
# reads scripts as it goes.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
repo="$(pwd)"
self="$repo/scripts/ops_check.sh"

all_checks=(deps docs readme rules prometheus dashboard systemd docker backup)
bin="${KYRODB_BIN:-$repo/build/release/src/kyrodb-engine}"
run_one=""
checks=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="${2:?--bin needs a value}"; shift 2 ;;
    __run) run_one="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    all) checks+=("${all_checks[@]}"); shift ;;
    *)
      if [[ " ${all_checks[*]} image " != *" $1 "* ]]; then
        echo "ops_check: unknown check '$1' (${all_checks[*]})" >&2; exit 2
      fi
      checks+=("$1"); shift ;;
  esac
done
[[ "$bin" = /* ]] || bin="$repo/$bin"
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY="$(command -v python3)"

########################################################################## helpers
log() { echo "  [$run_one] $*" >&2; }
fail() { echo "  [$run_one] FAIL: $*" >&2; exit 1; }

tmp=""
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [[ -n "$tmp" && "${OPS_CHECK_KEEP:-0}" != "1" ]]; then rm -rf "$tmp"; fi
}

need_bin() {
  [[ -x "$bin" ]] || fail "kyrodb-engine not found at $bin: run 'bash scripts/build.sh release' or pass --bin"
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME DATA_DIR [VAR=value...]: starts kyrodb-engine on a free
# loopback port (port 0, read back from the log), waits for /ready. Sets
# SERVER_PID, SERVER_PORT, BASE.
start_server() {
  local name="$1" dir="$2"; shift 2
  local logf="$tmp/$name.log" port=""
  env "$@" "$bin" serve 127.0.0.1 0 --data-dir "$dir" >"$logf" 2>&1 &
  SERVER_PID=$!
  pids+=("$SERVER_PID")
  for _ in $(seq 1 100); do
    port="$(grep -o '"msg":"http_listening","port":[0-9]*' "$logf" 2>/dev/null | grep -o '[0-9]*$' | head -1)"
    [[ -n "$port" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$logf" >&2; fail "server $name exited at start"; }
    sleep 0.1
  done
  [[ -n "$port" ]] || { cat "$logf" >&2; fail "server $name did not log its port"; }
  SERVER_PORT="$port"
  BASE="http://127.0.0.1:$port"
  for _ in $(seq 1 200); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/ready")" == "200" ]]; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$logf" >&2; fail "server $name exited during recovery"; }
    sleep 0.1
  done
  cat "$logf" >&2
  fail "server $name not ready after 20 s"
}

stop_server() {  # pid: SIGTERM, expect exit 0 within 15 s
  local p="$1" rc
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; fail "server $p ignored SIGTERM for 15 s"; fi
  wait "$p"; rc=$?
  [[ $rc -eq 0 ]] || fail "server $p exited $rc after SIGTERM"
}

http() {  # curl with bounded time; prints body
  curl -sS --max-time 10 "$@"
}

########################################################################## deps
check_deps() {
  local want=(prometheus systemd curl python3 python3-yaml docker-compose strace util-linux coreutils)
  local missing=() p state
  for p in "${want[@]}"; do
    state="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
    [[ "$state" == "installed" ]] || missing+=("$p")
  done
  local sudo_cmd=()
  if [[ "$(id -u)" != "0" ]]; then sudo_cmd=(sudo -n); fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null ||
      fail "apt-get update failed"
    # The prometheus package would start a system Prometheus on :9090 through
    # invoke-rc.d; the checks run their own on loopback, so forbid service
    # starts during the install (policy-rc.d exit 101) unless a policy exists.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e "$policy" && "$(id -u)" == "0" ]]; then
      printf '#!/bin/sh\n# made by scripts/ops_check.sh for one apt-get install\nexit 101\n' >"$policy"
      chmod 0755 "$policy"
      made_policy=1
    fi
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq \
      --no-install-recommends "${missing[@]}" >"${TMPDIR:-/tmp}/ops-apt.log" 2>&1
    local rc=$?
    [[ $made_policy -eq 0 ]] || rm -f "$policy"
    [[ $rc -eq 0 ]] || { tail -20 "${TMPDIR:-/tmp}/ops-apt.log" >&2; fail "apt-get install ${missing[*]} failed"; }
  fi
  # The docker check looks the runtime packages up in the archive's lists.
  if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null ||
      fail "apt-get update failed"
  fi
  for p in promtool prometheus systemd-analyze curl docker-compose strace; do
    command -v "$p" >/dev/null || fail "$p missing after install"
  done
  "$PY" -c 'import yaml' || fail "python3-yaml missing"
  # Dockerfile linter from the npm registry, cached under build/ops (optional:
  # the docker check says SKIP when npm is not there).
  local tools="$repo/build/ops/tools"
  if [[ ! -x "$tools/node_modules/.bin/dockerfilelint" ]] && command -v npm >/dev/null 2>&1; then
    mkdir -p "$tools"
    (cd "$tools" && timeout 90 npm install --no-audit --no-fund --silent --no-save dockerfilelint@1.8.0 >npm.log 2>&1) ||
      log "npm install dockerfilelint failed (the docker check will skip the linter)"
  fi
  log "promtool $(promtool --version 2>&1 | head -1 | awk '{print $3}'), $(systemd-analyze --version | head -1), $(docker-compose version --short 2>/dev/null || echo 'no docker-compose')"
}

########################################################################## docs
check_docs() {
  need_bin
  local ops="$repo/docs/OPS.md"
  [[ -f "$ops" ]] || fail "docs/OPS.md missing"
  "$bin" --help >"$tmp/help.txt" || fail "kyrodb-engine --help failed"
  "$PY" - "$repo" "$tmp/help.txt" "$ops" <<'PYEOF' || exit 1
import pathlib, re, sys
repo, help_path, ops_path = map(pathlib.Path, sys.argv[1:])
ops = ops_path.read_text()
# 1. Variables the server reads: quoted "KYRODB_*" literals in src/ (prefixes
#    such as "KYRODB_RL_" that are completed at run time are skipped) and
#    every variable `--help` lists.
src_vars = set()
for f in (repo / "src").rglob("*"):
    if f.suffix in (".cpp", ".h", ".hpp", ".cc") and f.is_file():
        for m in re.finditer(r'"(KYRODB_[A-Z0-9_]*[A-Z0-9])"', f.read_text(errors="replace")):
            src_vars.add(m.group(1))
help_text = help_path.read_text()
help_rows = {}
for m in re.finditer(r"^\s+(--[a-z0-9-]+|\(env only\))\s+(KYRODB_[A-Z0-9_]+)\s+\[([^\]]*)\]", help_text, re.M):
    help_rows[m.group(2)] = (m.group(1), m.group(3))
known = src_vars | set(help_rows)
problems = []
for v in sorted(known):
    if not re.search(r"\b" + v + r"\b", ops):
        problems.append(f"{v} is read by the server but missing from docs/OPS.md")
# 2. The settings table states each flag and default as --help does.
rows = {}
for line in ops.splitlines():
    m = re.match(r"\|\s*`(KYRODB_[A-Z0-9_]+)`\s*\|", line)
    if m and m.group(1) not in rows:
        rows[m.group(1)] = line
for v, (flag, default) in sorted(help_rows.items()):
    row = rows.get(v)
    if row is None:
        problems.append(f"{v}: no row in the docs/OPS.md settings table")
        continue
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    if flag.startswith("--") and f"`{flag}`" not in cells[1]:
        problems.append(f"{v}: flag should be `{flag}` (from --help), row says {cells[1]!r}")
    if flag == "(env only)" and "env only" not in cells[1]:
        problems.append(f"{v}: is environment-only (from --help), row says {cells[1]!r}")
    if cells[2].replace("`", "").strip() != default:
        problems.append(f"{v}: default should read {default!r} (from --help), row says {cells[2]!r}")
# 3. Nothing stale: every KYRODB_* the doc names is read by the server, or by
#    the ops scripts (healthcheck, backup, restore, ops_check).
script_vars = set()
for f in ["docker/healthcheck.sh", "scripts/backup.sh", "scripts/restore.sh", "scripts/ops_check.sh"]:
    p = repo / f
    if p.exists():
        script_vars |= set(re.findall(r"\bKYRODB_[A-Z0-9_]*[A-Z0-9]\b", p.read_text()))
for v in sorted(set(re.findall(r"\bKYRODB_[A-Z0-9_]*[A-Z0-9]\b", ops)) - known - script_vars):
    problems.append(f"docs/OPS.md names {v}, which nothing reads (stale?)")
for p in problems:
    print("  [docs] " + p, file=sys.stderr)
print(f"  [docs] {len(known)} server variables ({len(src_vars)} in src/, {len(help_rows)} in --help) checked against docs/OPS.md", file=sys.stderr)
sys.exit(1 if problems else 0)
PYEOF
}

########################################################################## readme
check_readme() {
  need_bin
  start_server readme "$tmp/data"
  mkdir -p "$tmp/work" "$tmp/home"
  # Every curl reports its status on stderr without touching stdout.
  printf '%s\n' 'write-out = "%{stderr}README_HTTP_STATUS %{http_code}\n"' 'max-time = 10' >"$tmp/home/.curlrc"
  "$PY" - "$repo/README.md" "$tmp/commands.txt" <<'PYEOF' || fail "cannot extract the README examples"
import re, sys
text = open(sys.argv[1]).read().splitlines()
start = next((i for i, l in enumerate(text) if re.match(r"#+\s+Basic operations\s*$", l, re.I)), None)
if start is None:
    sys.exit("README.md has no 'Basic operations' section")
cmds, block, i = [], False, start + 1
while i < len(text):
    l = text[i]
    if re.match(r"#+\s", l) and not block:
        break
    if l.startswith("```"):
        if block:
            block = False
        elif l.strip() in ("```bash", "```sh", "```shell"):
            block = True
        i += 1
        continue
    if block:
        cmd = l
        while cmd.rstrip().endswith("\\") and i + 1 < len(text):
            i += 1
            cmd = cmd.rstrip()[:-1] + " " + text[i].strip()
        if cmd.strip() and not cmd.strip().startswith("#"):
            cmds.append(cmd.strip())
    i += 1
open(sys.argv[2], "w").write("\n".join(cmds) + "\n")
PYEOF
  local n=0 cmd run out rc codes ok_count=0
  while IFS= read -r cmd; do
    [[ -n "$cmd" ]] || continue
    n=$((n + 1))
    if [[ "$cmd" != curl* ]]; then log "skipped (not a curl command): $cmd"; continue; fi
    run="${cmd//http:\/\/127.0.0.1:3030/$BASE}"
    run="${run//http:\/\/localhost:3030/$BASE}"
    # Files the examples upload (@photo.jpg): made up here.
    local f
    for f in $(grep -oE '@[A-Za-z0-9_./-]+' <<<"$run" | sed 's/^@//'); do
      [[ -e "$tmp/work/$f" ]] || { printf '\xff\xd8\xff\xe0JFIF-test-bytes-%s' "$f" >"$tmp/work/$f"; head -c 2048 /dev/urandom >>"$tmp/work/$f"; }
    done
    out="$(cd "$tmp/work" && HOME="$tmp/home" bash -c "$run" 2>"$tmp/stderr.txt")"; rc=$?
    codes="$(grep -o 'README_HTTP_STATUS [0-9]*' "$tmp/stderr.txt" | awk '{print $2}' | tr '\n' ' ')"
    if [[ $rc -ne 0 ]]; then cat "$tmp/stderr.txt" >&2; fail "README example exited $rc: $cmd"; fi
    [[ -n "$codes" ]] || fail "README example made no HTTP request: $cmd"
    for c in $codes; do
      [[ "$c" =~ ^2[0-9][0-9]$ ]] || { echo "$out" >&2; fail "README example answered HTTP $c: $cmd"; }
    done
    # What the examples promise, where the README says it.
    case "$run" in
      *"/health"*) [[ "$out" == *'"status":"ok"'* ]] || fail "/health said: $out" ;;
      *"/v1/get_fast/123"*) [[ "$out" == "hello" ]] || fail "get_fast/123 returned '$out', README's put stored 'hello'" ;;
      *"/v1/lookup?key=123"*) [[ "$out" == *'"value":"hello"'* ]] || fail "lookup returned: $out" ;;
      *"/metrics"*) [[ "$out" == *kyrodb_* ]] || fail "/metrics output has no kyrodb_ metric" ;;
    esac
    ok_count=$((ok_count + 1))
    log "ok HTTP ${codes% }: ${cmd:0:90}"
  done <"$tmp/commands.txt"
  [[ $ok_count -ge 3 ]] || fail "only $ok_count curl examples found under README 'Basic operations'"
  log "$ok_count of $n README commands ran against $BASE"
}

########################################################################## rules
check_rules() {
  local out
  out="$(promtool check config "$repo/docs/prometheus/prometheus.yml" 2>&1)" || { echo "$out" >&2; fail "promtool check config"; }
  out="$(promtool check rules "$repo/docs/prometheus/kyrodb-alerts.yml" 2>&1)" || { echo "$out" >&2; fail "promtool check rules"; }
  log "$(grep -o 'SUCCESS: [0-9]* rules found' <<<"$out")"
  out="$(cd "$repo/tests/ops" && promtool test rules kyrodb-alerts.test.yml 2>&1)" || { echo "$out" >&2; fail "promtool test rules"; }
  log "promtool test rules tests/ops/kyrodb-alerts.test.yml: SUCCESS"
}

########################################################################## prometheus
prom_query() {  # expr -> JSON reply on stdout
  curl -sS --max-time 5 -G --data-urlencode "query=$1" "$PROM/api/v1/query"
}
prom_scalar() {  # expr -> first value, or "" when empty
  prom_query "$1" | "$PY" -c 'import json,sys
d=json.load(sys.stdin); r=d.get("data",{}).get("result",[])
print(r[0]["value"][1] if d.get("status")=="success" and r else "")'
}

check_prometheus() {
  need_bin
  start_server prom "$tmp/data"
  local kbase="$BASE" kport="$SERVER_PORT"
  # promtool check metrics: the exposition as served.
  http "$kbase/metrics" >"$tmp/metrics.txt" || fail "GET /metrics"
  local lint
  lint="$(promtool check metrics <"$tmp/metrics.txt" 2>&1)" || { echo "$lint" >&2; fail "promtool check metrics"; }
  [[ -z "$lint" ]] || { echo "$lint" >&2; fail "promtool check metrics reported problems"; }
  log "promtool check metrics: clean ($(grep -c '^kyrodb_' "$tmp/metrics.txt") samples)"

  # The shipped config with only the target and intervals rewritten.
  local pport
  pport="$(free_port)"
  PROM="http://127.0.0.1:$pport"
  cp "$repo/docs/prometheus/kyrodb-alerts.yml" "$tmp/kyrodb-alerts.yml"
  "$PY" - "$repo/docs/prometheus/prometheus.yml" "$tmp/prometheus.yml" "127.0.0.1:$kport" "127.0.0.1:$pport" <<'PYEOF' || fail "cannot rewrite prometheus.yml"
import sys, yaml
src, dst, target, self_target = sys.argv[1:]
cfg = yaml.safe_load(open(src))
cfg["global"]["scrape_interval"] = "1s"
cfg["global"]["evaluation_interval"] = "1s"
jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
assert "kyrodb" in jobs, "no job kyrodb in docs/prometheus/prometheus.yml"
for name, job in jobs.items():
    job["scrape_interval"] = "1s"
    job["scrape_timeout"] = "1s"
    for sc in job.get("static_configs", []):
        sc["targets"] = [target if name == "kyrodb" else self_target]
yaml.safe_dump(cfg, open(dst, "w"))
PYEOF
  promtool check config "$tmp/prometheus.yml" >"$tmp/promtool.txt" 2>&1 || { cat "$tmp/promtool.txt" >&2; fail "promtool check config (rewritten)"; }
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$pport" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
  pids+=($!)
  local ppid=$!
  local up=""
  for _ in $(seq 1 300); do
    kill -0 "$ppid" 2>/dev/null || { cat "$tmp/prometheus.log" >&2; fail "prometheus exited"; }
    up="$(prom_scalar 'up{job="kyrodb"}' 2>/dev/null || true)"
    [[ "$up" == "1" ]] && break
    sleep 0.1
  done
  [[ "$up" == "1" ]] || { cat "$tmp/prometheus.log" >&2; fail "up{job=\"kyrodb\"} is '$up' after 30 s"; }
  log "Prometheus $PROM scraped $kbase: up{job=\"kyrodb\"} == 1"

  # A counter moves: requests and WAL appends after 30 puts and 30 gets.
  local before after appends i
  before="$(prom_scalar 'sum(kyrodb_http_requests_total{job="kyrodb"})')"
  [[ -n "$before" ]] || fail "kyrodb_http_requests_total not in Prometheus"
  for i in $(seq 1 30); do
    http -o /dev/null -X POST "$kbase/v1/put" -H 'Content-Type: application/json' -d "{\"key\": $i, \"value\": \"v$i\"}" || fail "put $i"
    http -o /dev/null "$kbase/v1/get_fast/$i" || fail "get $i"
  done
  for _ in $(seq 1 100); do
    after="$(prom_scalar 'sum(kyrodb_http_requests_total{job="kyrodb"})')"
    appends="$(prom_scalar 'sum(kyrodb_wal_appends_total{job="kyrodb"})')"
    if "$PY" -c "import sys; sys.exit(0 if float('${after:-0}') >= float('$before') + 60 and float('${appends:-0}') >= 30 else 1)"; then break; fi
    sleep 0.1
  done
  "$PY" -c "import sys; sys.exit(0 if float('${after:-0}') >= float('$before') + 60 else 1)" ||
    fail "kyrodb_http_requests_total went from $before to $after (expected +60)"
  log "kyrodb_http_requests_total $before -> $after, kyrodb_wal_appends_total $appends (via the query API)"

  # Every alert rule loaded and evaluated without error.
  local rules_ok=""
  for _ in $(seq 1 50); do
    curl -sS --max-time 5 "$PROM/api/v1/rules" >"$tmp/rules.json" 2>/dev/null || true
    if rules_ok="$("$PY" - "$tmp/rules.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
rules = [r for g in d["data"]["groups"] for r in g["rules"]]
bad = [f'{r["name"]}: {r.get("lastError")}' for r in rules if r.get("health") != "ok"]
if not rules or bad:
    print("; ".join(bad) or "no rules", file=sys.stderr); sys.exit(1)
firing = [r["name"] for r in rules if r.get("state") == "firing"]
print(f"{len(rules)} rules healthy, firing: {', '.join(firing) or 'none'}")
PYEOF
)"; then break; fi
    sleep 0.2
  done
  [[ -n "$rules_ok" ]] || fail "alert rules not healthy in Prometheus: $(cat "$tmp/rules.json")"
  log "alert rules: $rules_ok"

  # Every dashboard query parses and evaluates.
  "$PY" - "$repo/docs/grafana/kyrodb-dashboard.json" "$PROM" <<'PYEOF' || fail "dashboard queries failed in Prometheus"
import json, sys, urllib.parse, urllib.request
dash = json.load(open(sys.argv[1])); prom = sys.argv[2]
exprs = []
def walk(panels):
    for p in panels:
        for t in p.get("targets", []):
            if t.get("expr"): exprs.append((p.get("title"), t["expr"]))
        walk(p.get("panels", []))
walk(dash["panels"])
for v in dash.get("templating", {}).get("list", []):
    q = v.get("query")
    if isinstance(q, dict): q = q.get("query")
bad, nonempty = [], 0
for title, e in exprs:
    q = e.replace("$instance", ".*").replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        d = json.load(urllib.request.urlopen(url, timeout=5))
    except Exception as ex:  # 400 with the parse error
        body = getattr(ex, "read", lambda: b"")().decode(errors="replace")
        bad.append(f"{title}: {q}: {ex} {body}"); continue
    if d.get("status") != "success":
        bad.append(f"{title}: {q}: {d}")
    elif d["data"]["result"]:
        nonempty += 1
for b in bad: print("  [prometheus] " + b, file=sys.stderr)
print(f"  [prometheus] {len(exprs)} dashboard queries evaluated, {nonempty} with data now", file=sys.stderr)
sys.exit(1 if bad or not exprs else 0)
PYEOF
}

########################################################################## dashboard
check_dashboard() {
  need_bin
  local dash="$repo/docs/grafana/kyrodb-dashboard.json"
  "$PY" -m json.tool "$dash" >/dev/null || fail "docs/grafana/kyrodb-dashboard.json is not JSON"
  for f in "$repo"/docs/grafana/provisioning/*/*.yml; do
    "$PY" -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$f" || fail "$f is not YAML"
  done
  start_server dash "$tmp/data"
  # One write and one read so that every labelled series shows up.
  http -o /dev/null -X POST "$BASE/v1/put" -d '{"key": 1, "value": "x"}' || fail "put"
  http -o /dev/null "$BASE/v1/get_fast/1" || fail "get"
  http "$BASE/metrics" >"$tmp/metrics.txt" || fail "GET /metrics"
  "$PY" - "$dash" "$repo/docs/prometheus/kyrodb-alerts.yml" "$tmp/metrics.txt" <<'PYEOF' || exit 1
import json, re, sys
dash_path, rules_path, metrics_path = sys.argv[1:]
dash = json.load(open(dash_path))
live = set()
for line in open(metrics_path):
    m = re.match(r"(kyrodb_[a-z0-9_]+)", line)
    if m and not line.startswith("#"): live.add(m.group(1))
families = set()
for line in open(metrics_path):
    m = re.match(r"# TYPE (kyrodb_[a-z0-9_]+) ", line)
    if m: families.add(m.group(1))
problems = []
# Panels: titled, typed, unique ids, each with at least one query.
ids = set()
def walk(panels):
    for p in panels:
        if p.get("id") in ids: problems.append(f"duplicate panel id {p.get('id')}")
        ids.add(p.get("id"))
        if p.get("type") != "row" and not p.get("targets"):
            problems.append(f"panel {p.get('title')!r} has no query")
        walk(p.get("panels", []))
walk(dash.get("panels", []))
used = {}
for path, text in ((dash_path, open(dash_path).read()), (rules_path, open(rules_path).read())):
    for name in re.findall(r"\bkyrodb_[a-z0-9_]+", text):
        used.setdefault(name, set()).add(path.rsplit("/", 1)[-1])
for name, where in sorted(used.items()):
    if name not in live and name not in families:
        problems.append(f"{name} (in {', '.join(sorted(where))}) is not served on /metrics")
dash_text = open(dash_path).read()
missing = sorted(f for f in families if f not in dash_text)
for p in problems: print("  [dashboard] " + p, file=sys.stderr)
print(f"  [dashboard] {len(ids)} panels; {len(used)} metric names in dashboard + rules, all on /metrics" if not problems else "", file=sys.stderr)
if missing: print(f"  [dashboard] note: families without a panel: {', '.join(missing)}", file=sys.stderr)
sys.exit(1 if problems else 0)
PYEOF
}

########################################################################## systemd
check_systemd() {
  need_bin
  local unit="$repo/docs/systemd/kyrodb-engine.service" out score max="${OPS_SECURITY_MAX:-2.0}"
  [[ -f "$unit" ]] || fail "docs/systemd/kyrodb-engine.service missing"
  grep -q '^ExecStart=/usr/local/bin/kyrodb-engine ' "$unit" || fail "ExecStart is expected to be /usr/local/bin/kyrodb-engine"
  # verify needs an executable at the ExecStart path: point it at this build.
  mkdir -p "$tmp/unit"
  sed "s#/usr/local/bin/kyrodb-engine#$bin#g" "$unit" >"$tmp/unit/kyrodb-engine.service"
  out="$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$tmp/unit/kyrodb-engine.service" 2>&1)" ||
    { echo "$out" >&2; fail "systemd-analyze verify"; }
  # It exits 0 on unknown keys and misspelt values: any output is a failure.
  [[ -z "$out" ]] || { echo "$out" >&2; fail "systemd-analyze verify printed warnings"; }
  log "systemd-analyze verify: clean"
  out="$(systemd-analyze security --offline=true --no-pager "$tmp/unit/kyrodb-engine.service" 2>&1)" ||
    { echo "$out" >&2; fail "systemd-analyze security --offline=true"; }
  score="$(grep -o 'Overall exposure level for kyrodb-engine.service: [0-9.]*' <<<"$out" | awk '{print $NF}')"
  [[ -n "$score" ]] || { echo "$out" >&2; fail "no exposure score"; }
  "$PY" -c "import sys; sys.exit(0 if float('$score') <= float('$max') else 1)" ||
    { grep '✗' <<<"$out" >&2; fail "exposure $score is above the ceiling $max"; }
  log "systemd-analyze security --offline=true: exposure $score (ceiling $max)"
  grep -q "^$score\b\|exposure.*$score" "$repo/docs/OPS.md" ||
    log "note: docs/OPS.md does not quote the exposure score $score"

  # The unit's SystemCallFilter= must allow every system call the server makes:
  # trace it through start, writes, reads, snapshot, compaction, index build,
  # warmup, metrics and SIGTERM.
  if ! strace -f -qq -o /dev/null true 2>/dev/null; then
    log "SKIP system call trace: ptrace is not permitted here"
    return 0
  fi
  local sc_allow sc_deny
  sc_allow="$(sed -n 's/^SystemCallFilter=\([^~].*\)/\1/p' "$unit" | tr ' ' '\n' | grep -v '^$')"
  sc_deny="$(sed -n 's/^SystemCallFilter=~\(.*\)/\1/p' "$unit" | tr ' ' '\n' | grep -v '^$')"
  expand() {  # names or @groups -> syscalls
    local s
    for s in "$@"; do
      if [[ "$s" == @* ]]; then
        # shellcheck disable=SC2046
        expand $(systemd-analyze syscall-filter --no-pager "$s" | sed -n '2,$p' | sed 's/#.*//; s/^ *//' | grep -v '^$')
      else
        echo "$s"
      fi
    done
  }
  # shellcheck disable=SC2086
  expand $sc_allow | sort -u >"$tmp/allow.txt"
  # shellcheck disable=SC2086
  expand $sc_deny | sort -u >"$tmp/deny.txt"
  comm -23 "$tmp/allow.txt" "$tmp/deny.txt" >"$tmp/effective.txt"
  mkdir -p "$tmp/trace-data"
  local logf="$tmp/trace.log" port="" spid
  strace -f -qq -o "$tmp/strace.txt" "$bin" serve 127.0.0.1 0 --data-dir "$tmp/trace-data" >"$logf" 2>&1 &
  spid=$!
  pids+=("$spid")
  for _ in $(seq 1 100); do
    port="$(grep -o '"msg":"http_listening","port":[0-9]*' "$logf" 2>/dev/null | grep -o '[0-9]*$' | head -1)"
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || { cat "$logf" >&2; fail "traced server did not start"; }
  local child
  for child in $(pgrep -P "$spid"); do pids+=("$child"); done
  local b="http://127.0.0.1:$port" i
  for _ in $(seq 1 100); do [[ "$(curl -s -o /dev/null -w '%{http_code}' "$b/ready")" == 200 ]] && break; sleep 0.1; done
  for i in $(seq 1 20); do http -o /dev/null -X POST "$b/v1/put" -d "{\"key\": $i, \"value\": \"v$i\"}"; done
  http -o /dev/null -X PUT --data-binary 'raw' "$b/v1/kv/100"
  http -o /dev/null -X POST "$b/v1/batch/put" -d '{"items": [{"key": 200, "value": "a"}, {"key": 201, "value": "b"}]}'
  http -o /dev/null "$b/v1/get_fast/3"; http -o /dev/null "$b/v1/lookup?key=4"; http -o /dev/null "$b/v1/scan?start=0&end=1000"
  http -o /dev/null -X DELETE "$b/v1/kv/100"
  http -o /dev/null -X POST "$b/v1/snapshot"; http -o /dev/null -X POST "$b/v1/rmi/build"
  http -o /dev/null -X POST "$b/v1/compact"; http -o /dev/null -X POST "$b/v1/warmup"
  http -o /dev/null "$b/metrics"; http -o /dev/null "$b/v1/stats"
  # strace's pid is $spid; the server is its child.
  pkill -TERM -P "$spid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
  grep -oE '^[0-9]+ +[a-z0-9_]+\(' "$tmp/strace.txt" | awk '{print $2}' | tr -d '(' | sort -u >"$tmp/used.txt"
  local blocked
  blocked="$(comm -23 "$tmp/used.txt" "$tmp/effective.txt" | tr '\n' ' ')"
  [[ -z "${blocked// /}" ]] || fail "system calls the server makes but SystemCallFilter= forbids: $blocked"
  log "traced $(wc -l <"$tmp/used.txt") distinct system calls: all allowed by SystemCallFilter="
}

########################################################################## docker
check_docker() {
  need_bin
  local df="$repo/docker/Dockerfile" compose="$repo/docker-compose.yaml"
  [[ -f "$df" && -f "$compose" && -f "$repo/.dockerignore" ]] || fail "docker/Dockerfile, docker-compose.yaml or .dockerignore missing"

  # 1. A Dockerfile linter from the npm registry (hadolint is in neither Debian
  #    nor npm). dockerfilelint 1.8 predates HEALTHCHECK --start-period: that
  #    one finding is known-false and filtered out.
  local lint="$repo/build/ops/tools/node_modules/.bin/dockerfilelint"
  if [[ -x "$lint" ]]; then
    "$lint" -j "$df" >"$tmp/dfl.json" 2>/dev/null
    "$PY" - "$tmp/dfl.json" <<'PYEOF' || fail "dockerfilelint"
import json, sys
d = json.load(open(sys.argv[1]))
issues = [i for f in d["files"] for i in f["issues"]
          if not (i["title"] == "Invalid Argument Format" and "--start-period" in i["content"])]
for i in issues: print(f"  [docker] dockerfilelint line {i['line']}: {i['title']}: {i['content']}", file=sys.stderr)
sys.exit(1 if issues else 0)
PYEOF
    log "dockerfilelint 1.8.0: clean"
  else
    log "SKIP dockerfilelint (npm registry not reachable; run the deps check)"
  fi

  # 2. Structure: what the issue asks of the image, and that every COPY source
  #    exists and is not excluded by .dockerignore.
  "$PY" - "$repo" <<'PYEOF' || fail "Dockerfile structure"
import fnmatch, pathlib, re, sys
repo = pathlib.Path(sys.argv[1])
text = (repo / "docker/Dockerfile").read_text()
lines, cur = [], ""
for raw in text.splitlines():
    s = raw.strip()
    if not s or s.startswith("#"):
        continue
    cur += (" " if cur else "") + s.rstrip("\\").strip()
    if not s.endswith("\\"):
        lines.append(cur); cur = ""
stages, problems = [], []
for l in lines:
    inst, _, rest = l.partition(" ")
    inst = inst.upper()
    if inst == "FROM":
        stages.append({"from": rest.split()[0], "lines": []})
    elif stages:
        stages[-1]["lines"].append((inst, rest))
if len(stages) < 2: problems.append("not multi-stage")
for s in stages:
    if not re.fullmatch(r"debian:12(-slim)?(@sha256:[0-9a-f]{64})?", s["from"]):
        problems.append(f"base image {s['from']} is not Debian 12")
build, final = stages[0], stages[-1]
b_runs = " ".join(r for i, r in build["lines"] if i == "RUN")
for script in ("scripts/install_deps.sh", "scripts/build.sh"):
    if script not in b_runs: problems.append(f"build stage does not run {script}")
f = {}
for i, r in final["lines"]: f.setdefault(i, []).append(r)
user = (f.get("USER") or ["root"])[-1].split(":")[0]
if user in ("root", "0"): problems.append("final stage runs as root")
if not any("/data" in v for v in f.get("VOLUME", [])): problems.append("no VOLUME /data")
if not any(re.search(r"\b3030\b", v) for v in f.get("EXPOSE", [])): problems.append("no EXPOSE 3030")
if not f.get("HEALTHCHECK"): problems.append("no HEALTHCHECK")
env = " ".join(f.get("ENV", []))
for want in ("KYRODB_DATA_DIR=/data", "KYRODB_HOST=0.0.0.0", "KYRODB_PORT=3030"):
    if want not in env: problems.append(f"final stage ENV lacks {want}")
f_runs = " ".join(f.get("RUN", []))
for tool in ("build-essential", "cmake", "g++", "curl ", "-dev "):
    if tool in f_runs + " ": problems.append(f"runtime stage installs {tool.strip()}")
# COPY sources against .dockerignore
ignore = [l.strip() for l in (repo / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
def ignored(path):
    for pat in ignore:
        p = pat.rstrip("/")
        if fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p + "/*") or path.startswith(p + "/") or path == p:
            return True
        if p.startswith("**/") and (fnmatch.fnmatch(path, p[3:]) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], p[3:])):
            return True
    return False
for s in stages:
    for i, r in s["lines"]:
        if i != "COPY" or "--from=" in r: continue
        srcs = [a for a in r.split()[:-1] if not a.startswith("--")]
        for src in srcs:
            if src == ".": continue
            if not (repo / src).exists(): problems.append(f"COPY source {src} does not exist")
            elif ignored(src): problems.append(f"COPY source {src} is excluded by .dockerignore")
for req in ("scripts/install_deps.sh", "scripts/build.sh", "CMakeLists.txt", "src/main.cpp"):
    if ignored(req): problems.append(f".dockerignore excludes {req}, which the build needs")
for p in problems: print("  [docker] " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PYEOF
  log "Dockerfile: multi-stage Debian 12, build stage runs install_deps.sh + build.sh, non-root, VOLUME, EXPOSE, HEALTHCHECK, ENV"

  # 3. Runtime libraries: every library the binary links comes from a package
  #    the runtime stage installs (or libc6, which debian:12-slim has), and
  #    each of those packages exists in Debian 12.
  local runtime_pkgs libs lib pkg unmapped=""
  # The packages of the runtime stage's `apt-get install` (continuation lines
  # joined, options and the trailing `&& ...` dropped).
  runtime_pkgs="$(sed -n '/^FROM debian:12-slim/,$p' "$df" | grep -v '^ *#' | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' |
    grep 'apt-get install' | sed 's/.*apt-get install//; s/&&.*//' | tr -s ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u | tr '\n' ' ')"
  [[ -n "$runtime_pkgs" ]] || fail "no runtime libraries found in the runtime stage"
  libs="$(ldd "$bin" | awk '/=>/ {print $3}')"
  for lib in $libs; do
    pkg="$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1)"
    [[ -n "$pkg" ]] || pkg="$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)"
    [[ -n "$pkg" ]] || { unmapped+=" $lib(unknown package)"; continue; }
    case " $runtime_pkgs libc6 libgcc-s1 " in *" $pkg "*) ;; *) unmapped+=" $lib($pkg)" ;; esac
  done
  [[ -z "$unmapped" ]] || fail "the binary links libraries the runtime stage does not install:$unmapped"
  for pkg in $runtime_pkgs; do
    apt-cache madison "$pkg" 2>/dev/null | grep -q bookworm || fail "runtime package $pkg is not in the Debian 12 archive"
  done
  log "runtime stage installs ${runtime_pkgs% }: covers ldd of the binary ($(wc -w <<<"$libs") libraries)"

  # 4. Compose: the v1 client validates the file without a daemon; every bind
  #    mount source exists; the kyrodb service builds docker/Dockerfile.
  if command -v docker-compose >/dev/null 2>&1; then
    docker-compose -f "$compose" --profile grafana config >"$tmp/compose.yml" 2>"$tmp/compose.err" ||
      { cat "$tmp/compose.err" >&2; fail "docker-compose config"; }
    log "docker-compose $(docker-compose version --short 2>/dev/null) config: valid"
  fi
  if docker compose version >/dev/null 2>&1; then
    docker compose -f "$compose" --profile grafana config -q || fail "docker compose config"
    log "docker compose (v2 plugin) config: valid"
  fi
  "$PY" - "$repo" <<'PYEOF' || fail "docker-compose.yaml content"
import pathlib, sys, yaml
repo = pathlib.Path(sys.argv[1])
c = yaml.safe_load((repo / "docker-compose.yaml").read_text())
s, problems = c.get("services", {}), []
k = s.get("kyrodb")
if not k: problems.append("no service kyrodb")
else:
    b = k.get("build", {})
    if b.get("dockerfile") != "docker/Dockerfile": problems.append("kyrodb does not build docker/Dockerfile")
    if not any(str(p).endswith(":3030") for p in k.get("ports", [])): problems.append("kyrodb does not publish 3030")
    if not any(":/data" in str(v) for v in k.get("volumes", [])): problems.append("kyrodb has no volume on /data")
if "prometheus" not in s: problems.append("no service prometheus")
for name, svc in s.items():
    for v in svc.get("volumes", []):
        src = str(v).split(":")[0]
        if src.startswith("./") and not (repo / src).exists():
            problems.append(f"{name}: bind mount source {src} does not exist")
prom = yaml.safe_load((repo / "docs/prometheus/prometheus.yml").read_text())
targets = [t for j in prom["scrape_configs"] if j["job_name"] == "kyrodb" for sc in j["static_configs"] for t in sc["targets"]]
if "kyrodb:3030" not in targets: problems.append("docs/prometheus/prometheus.yml does not scrape kyrodb:3030")
for p in problems: print("  [docker] " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PYEOF
  log "docker-compose.yaml: kyrodb (docker/Dockerfile, /data volume, 3030) + prometheus scraping kyrodb:3030; mounts exist"

  # 5. The image's ENV and HEALTHCHECK against a live server run as an
  #    unprivileged user (loopback instead of the image's 0.0.0.0).
  local envs=() kv
  for kv in $(sed -n '/^FROM debian:12-slim/,$p' "$df" | sed -n '/^ENV /,/[^\\]$/p' | tr '\\' ' ' | grep -oE 'KYRODB_[A-Z_]+=[^ ]+'); do
    envs+=("$kv")
  done
  [[ ${#envs[@]} -gt 0 ]] || fail "no ENV in the runtime stage"
  mkdir -p "$tmp/img/data"
  local uid=65534 gid=65534 runner=()
  if [[ "$(id -u)" == "0" ]] && command -v setpriv >/dev/null 2>&1; then
    chown -R "$uid:$gid" "$tmp/img/data"
    chmod 0755 "$tmp" "$tmp/img"
    runner=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --)
  fi
  local port
  port="$(free_port)"
  (cd "$tmp/img/data" && exec env -i PATH=/usr/bin:/bin "${envs[@]}" KYRODB_HOST=127.0.0.1 KYRODB_PORT="$port" KYRODB_DATA_DIR="$tmp/img/data" \
      "${runner[@]}" "$bin" serve >"$tmp/img.log" 2>&1) &
  pids+=($!)
  local h=1
  for _ in $(seq 1 100); do
    if KYRODB_PORT="$port" "${runner[@]}" bash "$repo/docker/healthcheck.sh" 2>/dev/null; then h=0; break; fi
    sleep 0.1
  done
  [[ $h -eq 0 ]] || { cat "$tmp/img.log" >&2; fail "docker/healthcheck.sh never reported healthy"; }
  http -o /dev/null -X POST "http://127.0.0.1:$port/v1/put" -d '{"key": 1, "value": "x"}' || fail "write as the unprivileged user"
  if [[ ${#runner[@]} -gt 0 ]]; then
    [[ "$(stat -c %u "$tmp/img/data/$(ls "$tmp/img/data" | head -1)")" == "$uid" ]] || fail "data files not owned by the unprivileged user"
  fi
  local dead
  dead="$(free_port)"
  if KYRODB_PORT="$dead" bash "$repo/docker/healthcheck.sh" 2>/dev/null; then fail "healthcheck passes with no server"; fi
  log "image ENV (${envs[*]}) + healthcheck: healthy as uid ${uid}, unhealthy with no server"
}

########################################################################## backup
check_backup() {
  need_bin
  start_server src "$tmp/src"
  local a="$BASE" apid="$SERVER_PID" i items
  # Known data: 300 batch keys, JSON puts, a binary value, a delete, an overwrite.
  items="$(seq 1 300 | awk '{printf "%s{\"key\": %d, \"value\": \"value-%d\"}", (NR>1?",":""), $1, $1}')"
  http -o /dev/null --fail -X POST "$a/v1/batch/put" -H 'Content-Type: application/json' -d "{\"items\": [$items]}" || fail "batch put"
  for i in $(seq 301 320); do http -o /dev/null --fail -X POST "$a/v1/put" -d "{\"key\": $i, \"value\": \"value-$i\"}" || fail "put $i"; done
  head -c 4096 /dev/urandom >"$tmp/blob"
  http -o /dev/null --fail -X PUT --data-binary @"$tmp/blob" "$a/v1/kv/18446744073709551615" || fail "raw put"
  http -o /dev/null --fail -X DELETE "$a/v1/kv/5" || fail "delete 5"
  http -o /dev/null --fail -X POST "$a/v1/put" -d '{"key": 7, "value": "overwritten"}' || fail "overwrite 7"
  # A checkpoint, then more writes, so the backup has a snapshot AND a WAL tail.
  http -o /dev/null --fail -X POST "$a/v1/compact" || fail "compact"
  for i in $(seq 321 340); do http -o /dev/null --fail -X POST "$a/v1/put" -d "{\"key\": $i, \"value\": \"value-$i\"}" || fail "put $i"; done
  local acked
  acked="$(http "$a/v1/offset" | grep -o '[0-9]*')"

  # Writes keep going while the backup runs (bounded: 2000 puts or 20 s).
  (
    for i in $(seq 100000 102000); do
      [[ -e "$tmp/stop-writer" ]] && break
      curl -s -o /dev/null --max-time 5 -X POST "$a/v1/put" -d "{\"key\": $i, \"value\": \"during-backup-$i\"}"
    done
  ) &
  local wpid=$!
  pids+=("$wpid")
  sleep 0.3
  bash "$repo/scripts/backup.sh" --url "$a" --data-dir "$tmp/src" --out "$tmp/backups/b1" --bin "$bin" 2>"$tmp/backup.log" ||
    { cat "$tmp/backup.log" >&2; fail "backup.sh"; }
  touch "$tmp/stop-writer"
  wait "$wpid" 2>/dev/null || true
  [[ -f "$tmp/backups/b1/snapshot.bin" && -f "$tmp/backups/b1/SHA256SUMS" && -f "$tmp/backups/b1/MANIFEST" ]] ||
    fail "backup lacks snapshot.bin, SHA256SUMS or MANIFEST: $(ls "$tmp/backups/b1")"
  ls "$tmp/backups/b1"/wal.* >/dev/null 2>&1 || fail "backup has no WAL segment"
  log "backup.sh during writes: $(cd "$tmp/backups/b1" && ls | tr '\n' ' ')"

  # A backup directory that exists is refused; so is restoring over a store.
  if bash "$repo/scripts/backup.sh" --url "$a" --data-dir "$tmp/src" --out "$tmp/backups/b1" --bin "$bin" 2>/dev/null; then
    fail "backup.sh overwrote an existing backup"
  fi
  if bash "$repo/scripts/restore.sh" --from "$tmp/backups/b1" --to "$tmp/src" --bin "$bin" 2>/dev/null; then
    fail "restore.sh restored over a non-empty data directory"
  fi
  # A damaged backup is refused.
  cp -r "$tmp/backups/b1" "$tmp/backups/damaged"
  printf 'x' | dd of="$tmp/backups/damaged/snapshot.bin" bs=1 seek=40 conv=notrunc 2>/dev/null
  if bash "$repo/scripts/restore.sh" --from "$tmp/backups/damaged" --to "$tmp/never" --bin "$bin" >/dev/null 2>&1; then
    fail "restore.sh accepted a damaged backup"
  fi
  [[ ! -e "$tmp/never" ]] || fail "restore.sh left $tmp/never behind after refusing"
  # Without SHA256SUMS, verify alone catches it.
  rm -f "$tmp/backups/damaged/SHA256SUMS"
  if bash "$repo/scripts/restore.sh" --from "$tmp/backups/damaged" --to "$tmp/never" --bin "$bin" >/dev/null 2>&1; then
    fail "restore.sh (verify) accepted a damaged snapshot.bin"
  fi

  bash "$repo/scripts/restore.sh" --from "$tmp/backups/b1" --to "$tmp/restored" --bin "$bin" 2>"$tmp/restore.log" ||
    { cat "$tmp/restore.log" >&2; fail "restore.sh"; }
  "$bin" verify --data-dir "$tmp/restored" >"$tmp/verify.txt" 2>&1 || { cat "$tmp/verify.txt" >&2; fail "verify on the restored directory"; }
  log "restore.sh into a new directory: $(tail -1 "$tmp/verify.txt")"
  stop_server "$apid"

  # A second server on the restored directory reads everything back.
  start_server restored "$tmp/restored"
  local b="$BASE" got
  local keys
  keys="$(seq 1 340 | paste -sd, -)"
  http --fail -X POST "$b/v1/batch/get" -H 'Content-Type: application/json' -d "{\"keys\": [$keys]}" >"$tmp/values.json" ||
    fail "batch get on the restored server"
  "$PY" - "$tmp/values.json" <<'PYEOF' || fail "restored values differ"
import json, sys
vals = json.load(open(sys.argv[1]))["values"]
bad = []
for k, v in zip(range(1, 341), vals):
    want = None if k == 5 else ("overwritten" if k == 7 else f"value-{k}")
    if v != want: bad.append(f"key {k}: {v!r} != {want!r}")
print("\n".join(bad[:10]), file=sys.stderr)
sys.exit(1 if bad or len(vals) != 340 else 0)
PYEOF
  http --fail -o "$tmp/blob.back" "$b/v1/kv/18446744073709551615" || fail "raw get of key 2^64-1"
  cmp -s "$tmp/blob" "$tmp/blob.back" || fail "binary value differs after restore"
  got="$(curl -s -o /dev/null -w '%{http_code}' "$b/v1/get_fast/5")"
  [[ "$got" == 404 ]] || fail "deleted key 5 answers $got after restore"
  got="$(http "$b/v1/offset" | grep -o '[0-9]*')"
  [[ "$got" -ge "$acked" ]] || fail "restored offset $got is below the $acked acknowledged before the backup"
  # And it takes writes with offsets after everything restored.
  local w
  w="$(http --fail -X POST "$b/v1/put" -d '{"key": 999999, "value": "after-restore"}' | grep -o '[0-9]*')" || fail "write after restore"
  [[ "$w" -gt "$got" ]] || fail "offset $w after restore does not follow $got"
  log "second server on the restored directory: 340 keys, 2^64-1 binary value, tombstone, offset $got >= $acked"
}

########################################################################## image
# Docker's daemon does not run here, but podman builds and runs images
# without one. Docker Hub is not reachable, so debian:12 and debian:12-slim are
# stood in for by a debootstrap --variant=minbase of bookworm from the apt
# mirror. Everything lives under build/ops/image.
check_image() {
  [[ "$(id -u)" == "0" ]] || fail "the image check needs root (podman storage, debootstrap)"
  local want=(podman runc debootstrap uidmap) missing=() p state
  for p in "${want[@]}"; do
    state="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
    [[ "$state" == "installed" ]] || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null || fail "apt-get update"
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends \
      "${missing[@]}" >"$tmp/apt.log" 2>&1 || { tail -20 "$tmp/apt.log" >&2; fail "apt-get install ${missing[*]}"; }
  fi
  local work="$repo/build/ops/image"
  mkdir -p "$work"
  # This sandbox's limits: no CAP_SYS_RESOURCE (podman's default ulimits
  # cannot be applied) and hybrid cgroups (crun refuses; runc copes).
  printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
  export CONTAINERS_CONF="$work/containers.conf"
  local P=(podman --storage-driver=vfs --root "$work/storage" --runroot "$work/run" --cgroup-manager=cgroupfs
           --events-backend=file --runtime runc)
  if ! "${P[@]}" image exists docker.io/library/debian:12; then
    local mirror
    mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    log "debootstrap --variant=minbase bookworm from $mirror (stand-in for debian:12)"
    rm -rf "$work/rootfs"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
      { tail -20 "$tmp/debootstrap.log" >&2; fail "debootstrap"; }
    tar -C "$work/rootfs" -c . | "${P[@]}" import - docker.io/library/debian:12 >/dev/null || fail "podman import"
    "${P[@]}" tag docker.io/library/debian:12 docker.io/library/debian:12-slim || fail "podman tag"
    rm -rf "$work/rootfs"
  fi
  local t0=$SECONDS
  if [[ "${OPS_IMAGE_REUSE:-0}" == "1" ]] && "${P[@]}" image exists localhost/kyrodb:ops-check; then
    log "OPS_IMAGE_REUSE=1: testing the image built before, not rebuilding"
  else
  "${P[@]}" build --pull=never --isolation=chroot --network=host --format docker \
    -f "$repo/docker/Dockerfile" -t localhost/kyrodb:ops-check "$repo" >"$tmp/build.log" 2>&1 ||
    { tail -40 "$tmp/build.log" >&2; fail "podman build -f docker/Dockerfile"; }
  log "podman build -f docker/Dockerfile: ok in $((SECONDS - t0)) s, $(grep -o 'kyrodb-engine [0-9.]* (commit [0-9a-f]*' "$tmp/build.log" | head -1))"
  fi
  "${P[@]}" image inspect localhost/kyrodb:ops-check >"$tmp/inspect.json" || fail "podman image inspect"
  "$PY" - "$tmp/inspect.json" <<'PYEOF' || fail "image configuration"
import json, sys
img = json.load(open(sys.argv[1]))[0]
c = img.get("Config", {})
problems = []
if c.get("User") not in ("kyrodb:kyrodb", "kyrodb", "10001", "10001:10001"): problems.append(f"User {c.get('User')!r}")
if "3030/tcp" not in (c.get("ExposedPorts") or {}): problems.append("3030/tcp not exposed")
if "/data" not in (c.get("Volumes") or {}): problems.append("no volume /data")
hc = c.get("Healthcheck") or img.get("Healthcheck") or img.get("HealthCheck")  # podman: top level
if not hc or not hc.get("Test"): problems.append("no healthcheck")
env = c.get("Env") or []
for want in ("KYRODB_DATA_DIR=/data", "KYRODB_HOST=0.0.0.0", "KYRODB_PORT=3030"):
    if want not in env: problems.append(f"Env lacks {want}")
if c.get("Entrypoint") != ["/usr/local/bin/kyrodb-engine"]: problems.append(f"Entrypoint {c.get('Entrypoint')}")
for p in problems: print("  [image] " + p, file=sys.stderr)
print(f"  [image] size {img.get('Size', 0) / 1e6:.0f} MB (base included); user {c.get('User')}; healthcheck {hc.get('Test') if hc else None}", file=sys.stderr)
sys.exit(1 if problems else 0)
PYEOF
  # Run it: host network, loopback address and a free port instead of the
  # image's 0.0.0.0:3030 (this machine serves nothing beyond loopback).
  local port b
  # Globals: the EXIT trap runs after this function has returned.
  IMG_NAME="kyrodb-ops-check-$$" IMG_VOL="kyrodb-ops-check-$$" IMG_P=("${P[@]}")
  local name="$IMG_NAME" vol="$IMG_VOL"
  port="$(free_port)"
  b="http://127.0.0.1:$port"
  "${P[@]}" volume create "$vol" >/dev/null || fail "podman volume create"
  image_cleanup() {
    "${IMG_P[@]}" rm -f -t 5 "$IMG_NAME" >/dev/null 2>&1
    "${IMG_P[@]}" volume rm -f "$IMG_VOL" >/dev/null 2>&1
  }
  trap 'image_cleanup; cleanup' EXIT
  "${P[@]}" run -d --name "$name" --network=host -e KYRODB_HOST=127.0.0.1 -e KYRODB_PORT="$port" \
    -v "$vol:/data" localhost/kyrodb:ops-check >/dev/null 2>"$tmp/run.err" || { cat "$tmp/run.err" >&2; fail "podman run"; }
  local ready=0
  for _ in $(seq 1 100); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$b/ready")" == 200 ]] && { ready=1; break; }
    sleep 0.1
  done
  [[ $ready -eq 1 ]] || { "${P[@]}" logs "$name" >&2; fail "container not ready"; }
  [[ "$("${P[@]}" exec "$name" id -u)" == "10001" ]] || fail "container does not run as uid 10001"
  "${P[@]}" healthcheck run "$name" >/dev/null 2>&1 || "${P[@]}" exec "$name" /usr/local/bin/kyrodb-healthcheck ||
    fail "healthcheck inside the container"
  http -o /dev/null --fail -X POST "$b/v1/put" -d '{"key": 42, "value": "in-a-volume"}' || fail "put"
  "${P[@]}" stop -t 30 "$name" >/dev/null || fail "podman stop"
  [[ "$("${P[@]}" inspect "$name" --format '{{.State.ExitCode}}')" == "0" ]] || { "${P[@]}" logs "$name" >&2; fail "exit code after SIGTERM"; }
  "${P[@]}" start "$name" >/dev/null || fail "podman start"
  ready=0
  for _ in $(seq 1 100); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$b/ready")" == 200 ]] && { ready=1; break; }
    sleep 0.1
  done
  [[ $ready -eq 1 ]] || fail "container not ready after restart"
  [[ "$(http "$b/v1/get_fast/42")" == "in-a-volume" ]] || fail "the value did not survive a container restart"
  "${P[@]}" stop -t 30 "$name" >/dev/null
  log "container: uid 10001, healthy, put -> SIGTERM exit 0 -> restart -> value read back from the /data volume"
}

########################################################################## driver
if [[ -n "$run_one" ]]; then
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/kyrodb-ops-$run_one.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 143' TERM INT
  "check_$run_one"
  exit $?
fi

[[ ${#checks[@]} -gt 0 ]] || checks=("${all_checks[@]}")
limit="${OPS_CHECK_TIMEOUT:-150}"
passed=0 failed=0
for c in "${checks[@]}"; do
  t0=$(date +%s)
  climit="$limit"
  if [[ "$c" == image && -z "${OPS_CHECK_TIMEOUT:-}" ]]; then climit=1800; fi
  timeout --kill-after=10 "$climit" bash "$self" --bin "$bin" __run "$c"
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  if [[ $rc -eq 0 ]]; then
    echo "ops_check: PASS $c (${secs}s)"
    passed=$((passed + 1))
  else
    [[ $rc -eq 124 ]] && echo "ops_check: $c timed out after ${climit}s" >&2
    echo "ops_check: FAIL $c (${secs}s, exit $rc)"
    failed=$((failed + 1))
  fi
done
echo "ops_check: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
