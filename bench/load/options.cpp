#include "options.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string_view>

namespace kyrodb::bench {
namespace {

constexpr const char* kUsage = R"(kyrodb-bench: HTTP/1.1 load generator for KyroDB (async Asio/Beast, keep-alive).

Phases, in order, each bounded in time: load (--load-n keys with POST /v1/batch/put),
index build (POST /v1/rmi/build), then for each of read, write and mixed that is enabled,
--warmup-seconds unrecorded and the measured run. Latency is per request, from the first
byte sent to the last byte of the response (closed loop: one request in flight per
connection).

  --base URL                 server (default http://127.0.0.1:3030); loopback only
  --allow-remote             allow a non-loopback host (not in this workplace)
  --load-n N                 keys 0..N-1 to write first (default 0: none)
  --load-batch B             items per POST /v1/batch/put (default 1000; 1: POST /v1/put,
                             or PUT /v1/kv/{key} with --route kv)
  --load-concurrency C       connections for the load (default 4)
  --load-timeout S           stop loading after S seconds (default 900)
  --no-build-index           skip POST /v1/rmi/build after the load
  --val-bytes N              value size in bytes (default 64)
  --key-space N              keys are drawn from [0, N) (default: --load-n, else 1000000)
  --read-concurrency C       connections of the read phase (default 64)
  --read-seconds S           read phase length (default 10; 0 skips it)
  --write-concurrency C      connections of the write phase (default 64)
  --write-seconds S          write phase length (default 0: skipped)
  --mix R                    add a mixed phase: each request is a read with probability R
  --mix-seconds S            mixed phase length (default --read-seconds), --read-concurrency
                             connections
  --warmup-seconds S         unrecorded run before each measured phase (default 1)
  --admin-every S            while the read/write/mixed phases run, POST /v1/compact and
                             POST /v1/rmi/build in turn every S seconds (checkpoints under
                             load); their statuses are printed and in --out (default 0: off)
  --dist uniform|zipf        key distribution (default uniform)
  --zipf-theta T             Zipf exponent (default 0.99)
  --zipf-scramble 0|1        spread hot ranks over the key space (default 1)
  --route R                  get_fast (reads GET /v1/get_fast/{k}, writes POST /v1/put JSON),
                             lookup (GET /v1/lookup?key=k, POST /v1/put),
                             kv (GET and PUT /v1/kv/{k}, raw bytes),
                             static (reads GET --path: a fixed page, e.g. nginx),
                             etcd (writes POST /v3/kv/put with base64 key and value)
  --path P                   the target of --route static (default /)
  --auth-token T             send Authorization: Bearer T
  --threads N                I/O threads running the one io_context (default 1)
  --timeout-seconds S        connect timeout and drain grace after a phase (default 5)
  --wait-ready S             first poll GET /ready until 200, up to S seconds; prints the
                             wall-clock time it answered (ready_unix_ns=...)
  --seed N                   RNG seed (default 42)
  --label NAME               system name in the outputs (default kyrodb)
  --out FILE                 results as .json (overwritten) or .csv (rows appended; a
                             header is written when the file is new or empty)
  --quiet                    no progress on stderr
  --help
)";

[[noreturn]] void Fail(const std::string& msg) {
  std::fprintf(stderr, "kyrodb-bench: %s (see --help)\n", msg.c_str());
  std::exit(2);
}

uint64_t ParseU64(std::string_view flag, std::string_view v) {
  uint64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) Fail(std::string(flag) + ": not a non-negative integer: " + std::string(v));
  return out;
}

double ParseDouble(std::string_view flag, std::string_view v) {
  std::string s(v);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(d >= 0) || d > 1e9) {
    Fail(std::string(flag) + ": not a non-negative number: " + s);
  }
  return d;
}

unsigned ParseCount(std::string_view flag, std::string_view v, unsigned max) {
  uint64_t n = ParseU64(flag, v);
  if (n < 1 || n > max) Fail(std::string(flag) + ": must be 1.." + std::to_string(max));
  return static_cast<unsigned>(n);
}

void ParseBase(Options& o) {
  std::string_view b = o.base;
  constexpr std::string_view kScheme = "http://";
  if (b.substr(0, kScheme.size()) != kScheme) Fail("--base must start with http:// (TLS is not supported)");
  b.remove_prefix(kScheme.size());
  auto slash = b.find('/');
  if (slash != std::string_view::npos) {
    if (b.substr(slash) != "/") Fail("--base takes no path: " + o.base);
    b = b.substr(0, slash);
  }
  std::string_view host = b;
  std::string_view port = "80";
  if (!b.empty() && b.front() == '[') {
    auto close = b.find(']');
    if (close == std::string_view::npos) Fail("--base: unclosed [ in " + o.base);
    host = b.substr(1, close - 1);
    if (close + 1 < b.size()) {
      if (b[close + 1] != ':') Fail("--base: bad port in " + o.base);
      port = b.substr(close + 2);
    }
  } else if (auto colon = b.rfind(':'); colon != std::string_view::npos) {
    host = b.substr(0, colon);
    port = b.substr(colon + 1);
  }
  if (host.empty()) Fail("--base: no host in " + o.base);
  uint64_t p = ParseU64("--base port", port);
  if (p == 0 || p > 65535) Fail("--base: port out of range in " + o.base);
  o.host = std::string(host);
  o.port = std::string(port);
  o.host_header = std::string(b);
}

}  // namespace

const char* RouteName(Route r) {
  switch (r) {
    case Route::kGetFast: return "get_fast";
    case Route::kLookup: return "lookup";
    case Route::kKv: return "kv";
    case Route::kStatic: return "static";
    case Route::kEtcd: return "etcd";
  }
  return "?";
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    std::string_view value;
    bool has_inline = false;
    if (auto eq = flag.find('='); flag.substr(0, 2) == "--" && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline = true;
    }
    auto need = [&]() -> std::string_view {
      if (has_inline) return value;
      if (i + 1 >= argc) Fail(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (flag == "--base") {
      o.base = std::string(need());
    } else if (flag == "--allow-remote") {
      o.allow_remote = true;
    } else if (flag == "--load-n") {
      o.load_n = ParseU64(flag, need());
    } else if (flag == "--load-batch") {
      o.load_batch = ParseCount(flag, need(), 100000);
    } else if (flag == "--load-concurrency") {
      o.load_concurrency = ParseCount(flag, need(), 1024);
    } else if (flag == "--load-timeout") {
      o.load_timeout = ParseDouble(flag, need());
    } else if (flag == "--no-build-index") {
      o.build_index = false;
    } else if (flag == "--val-bytes") {
      o.val_bytes = ParseU64(flag, need());
      if (o.val_bytes > (64u << 20)) Fail("--val-bytes: at most 64 MiB");
    } else if (flag == "--key-space") {
      o.key_space = ParseU64(flag, need());
      if (*o.key_space == 0) Fail("--key-space must be >= 1");
    } else if (flag == "--read-concurrency") {
      o.read_concurrency = ParseCount(flag, need(), 10000);
    } else if (flag == "--read-seconds") {
      o.read_seconds = ParseDouble(flag, need());
    } else if (flag == "--write-concurrency") {
      o.write_concurrency = ParseCount(flag, need(), 10000);
    } else if (flag == "--write-seconds") {
      o.write_seconds = ParseDouble(flag, need());
    } else if (flag == "--mix") {
      o.mix = ParseDouble(flag, need());
      if (*o.mix > 1) Fail("--mix is a fraction in [0, 1]");
    } else if (flag == "--mix-seconds") {
      o.mix_seconds = ParseDouble(flag, need());
    } else if (flag == "--warmup-seconds") {
      o.warmup_seconds = ParseDouble(flag, need());
    } else if (flag == "--admin-every") {
      o.admin_every = ParseDouble(flag, need());
    } else if (flag == "--dist") {
      std::string_view d = need();
      if (d == "uniform") {
        o.zipf = false;
      } else if (d == "zipf") {
        o.zipf = true;
      } else {
        Fail("--dist must be uniform or zipf");
      }
    } else if (flag == "--zipf-theta") {
      o.zipf_theta = ParseDouble(flag, need());
      if (o.zipf_theta <= 0 || o.zipf_theta > 10) Fail("--zipf-theta must be in (0, 10]");
    } else if (flag == "--zipf-scramble") {
      o.zipf_scramble = ParseU64(flag, need()) != 0;
    } else if (flag == "--route") {
      static const std::map<std::string_view, Route> kRoutes = {{"get_fast", Route::kGetFast},
                                                                {"lookup", Route::kLookup},
                                                                {"kv", Route::kKv},
                                                                {"static", Route::kStatic},
                                                                {"etcd", Route::kEtcd}};
      auto it = kRoutes.find(need());
      if (it == kRoutes.end()) Fail("--route must be get_fast, lookup, kv, static or etcd");
      o.route = it->second;
    } else if (flag == "--path") {
      o.path = std::string(need());
      if (o.path.empty() || o.path[0] != '/') Fail("--path must start with /");
    } else if (flag == "--auth-token") {
      o.auth_token = std::string(need());
    } else if (flag == "--threads") {
      o.threads = ParseCount(flag, need(), 64);
    } else if (flag == "--timeout-seconds") {
      o.timeout_seconds = ParseDouble(flag, need());
    } else if (flag == "--wait-ready") {
      o.wait_ready = ParseDouble(flag, need());
    } else if (flag == "--seed") {
      o.seed = ParseU64(flag, need());
    } else if (flag == "--label") {
      o.label = std::string(need());
    } else if (flag == "--out") {
      o.out = std::string(need());
    } else if (flag == "--quiet") {
      o.quiet = true;
    } else {
      Fail("unknown flag " + std::string(flag));
    }
  }
  ParseBase(o);
  if (o.mix_seconds < 0) o.mix_seconds = o.read_seconds;
  if (o.route == Route::kStatic && (o.load_n > 0 || o.write_seconds > 0 || o.mix)) {
    Fail("--route static only reads (no --load-n, --write-seconds or --mix)");
  }
  if (o.route == Route::kEtcd && (o.load_n > 0 || o.read_seconds > 0 || o.mix)) {
    Fail("--route etcd only writes: give --read-seconds 0 and no --load-n or --mix");
  }
  if (!o.out.empty() && !(o.out.ends_with(".json") || o.out.ends_with(".csv"))) {
    Fail("--out must end in .json or .csv");
  }
  if (o.timeout_seconds <= 0) Fail("--timeout-seconds must be > 0");
  return o;
}

}  // namespace kyrodb::bench
