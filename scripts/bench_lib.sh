# shellcheck shell=bash
# Shell helpers shared by the benchmark scripts (compare_peers.sh, ab_bench.sh).
# Sourced, not run. The including script sets ROOT and BUILD_DIR and defines
# die() and log() before calling any of these.

# Builds kyrodb-engine and kyrodb-bench in $BUILD_DIR (Release, frame pointers
# for perf). Always run, a no-op when up to date: measuring a binary older than
# the checkout would put another commit's numbers under this one's name.
build_kyro() {
  log "building kyrodb-engine and kyrodb-bench in $BUILD_DIR"
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKYRODB_BUILD_TESTS=OFF \
      -DKYRODB_WERROR=ON -DCMAKE_CXX_FLAGS="-g -fno-omit-frame-pointer" >&2
  fi
  cmake --build "$BUILD_DIR" --target kyrodb-engine kyrodb-bench -j "${JOBS:-2}" >&2
}

stop_pid() {  # pid [timeout-seconds]: SIGTERM, wait, SIGKILL
  local pid="$1" t="${2:-20}" i
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < t * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

wait_http() {  # url seconds
  local url="$1" t="$2" i
  for ((i = 0; i < t * 20; i++)); do
    curl -sf -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.05
  done
  die "no answer from $url within ${t}s"
}

# A free loopback port: no socket of any state uses it now (ss), from a random
# start below the kernel's ephemeral range, so no client connection (each of
# the load generator's takes an ephemeral port) can hold it when a server binds.
free_port() {
  local p tries=0 low
  low="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
  ((low > 12000)) || low=32768
  p=$((10000 + RANDOM % (low - 12000)))
  while ((tries < 200)); do
    if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
      echo "$p"
      return 0
    fi
    p=$((p + 1)); tries=$((tries + 1))
  done
  die "no free port found"
}

# shellcheck disable=SC2034  # used by the scripts that source this
TICK="$(getconf CLK_TCK)"
# CPU time (user+sys, clock ticks) of the given processes and all their threads.
cpu_of() {
  local t=0 p
  for p in "$@"; do
    [[ -r "/proc/$p/stat" ]] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}

# Percent of all CPUs idle over the next half second (/proc/stat). Taken just
# before a measured phase, while the servers wait: anything well below 100
# means other work shares the cores. The load average says little on a VM
# (one of ours read ~2 while vmstat showed 100 % idle).
idle_pct() {
  local a b
  a="$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)"
  sleep 0.5
  b="$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)"
  awk -v a="$a" -v b="$b" 'BEGIN{split(a, x, " "); split(b, y, " "); t = y[2] - x[2];
    printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 100)}'
}
