// kyrodb-bench: the HTTP load generator of KyroDB (issue 6, SPEC §7).
//
//   kyrodb-bench --base http://127.0.0.1:3030 --load-n 1000000 --val-bytes 64
//                --read-concurrency 64 --read-seconds 30 --dist uniform
//
// Loopback only unless --allow-remote. Every phase is bounded by its seconds
// plus --timeout-seconds of drain; see --help and docs/BENCHMARKS.md.
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "client.h"
#include "options.h"

namespace {

using namespace kyrodb::bench;
using json = nlohmann::json;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Every address the host resolves to must be loopback (127.0.0.0/8, ::1).
bool CheckLoopback(const Options& o) {
  asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(o.host, o.port, ec);
  if (ec) {
    std::fprintf(stderr, "kyrodb-bench: cannot resolve %s: %s\n", o.host.c_str(), ec.message().c_str());
    return false;
  }
  for (const auto& r : results) {
    auto addr = r.endpoint().address();
    bool loop = addr.is_loopback() || (addr.is_v6() && addr.to_v6().is_v4_mapped() &&
                                       asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).is_loopback());
    if (!loop && !o.allow_remote) {
      std::fprintf(stderr,
                   "kyrodb-bench: %s resolves to %s, which is not a loopback address; refusing "
                   "(pass --allow-remote to load a remote server)\n",
                   o.host.c_str(), addr.to_string().c_str());
      return false;
    }
  }
  return true;
}

double Us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string Lat(uint64_t ns) {
  char buf[32];
  if (ns >= 10'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(ns) / 1e6);
  } else if (ns >= 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.2fms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fus", static_cast<double>(ns) / 1e3);
  }
  return buf;
}

struct Row {
  std::string phase;  // read, write, mixed.read, ...
  std::string op;     // read | write | all | load
  const PhaseResult* result;
  OpStats stats;
};

std::string ErrorSummary(const OpStats& s) {
  std::string out;
  for (size_t code = 0; code < s.status.size(); ++code) {
    if ((code >= 200 && code < 300) || s.status[code] == 0) continue;
    if (!out.empty()) out += ", ";
    out += "HTTP " + std::to_string(code) + ": " + std::to_string(s.status[code]);
  }
  for (const auto& [what, n] : s.transport) {
    if (!out.empty()) out += ", ";
    out += what + ": " + std::to_string(n);
  }
  if (s.bad_body) {
    if (!out.empty()) out += ", ";
    out += "body size != --val-bytes: " + std::to_string(s.bad_body);
  }
  return out;
}

void PrintTable(const std::vector<Row>& rows) {
  std::printf("\n%-12s %-9s %6s %7s %11s %11s %9s %9s %9s %9s %9s %8s\n", "phase", "route", "conns", "secs",
              "requests", "req/s", "p50", "p90", "p99", "p99.9", "max", "errors");
  for (const Row& r : rows) {
    const OpStats& s = r.stats;
    uint64_t n = s.Completed();
    double rps = static_cast<double>(n) / std::max(r.result->elapsed, 1e-9);
    std::printf("%-12s %-9s %6u %7.2f %11llu %11.0f %9s %9s %9s %9s %9s %8llu\n", r.phase.c_str(),
                r.op == "load" ? "batch" : "", r.result->spec.connections, r.result->elapsed,
                static_cast<unsigned long long>(n), rps, Lat(s.hist.Percentile(0.50)).c_str(),
                Lat(s.hist.Percentile(0.90)).c_str(), Lat(s.hist.Percentile(0.99)).c_str(),
                Lat(s.hist.Percentile(0.999)).c_str(), Lat(s.hist.max()).c_str(),
                static_cast<unsigned long long>(s.Non2xx() + s.TransportErrors()));
  }
  for (const Row& r : rows) {
    std::string errs = ErrorSummary(r.stats);
    if (!errs.empty()) std::printf("  %s errors: %s\n", r.phase.c_str(), errs.c_str());
  }
}

json RowJson(const Row& r, const Options& o) {
  const OpStats& s = r.stats;
  uint64_t n = s.Completed();
  json j;
  j["phase"] = r.phase;
  j["op"] = r.op;
  j["route"] = RouteName(o.route);
  j["dist"] = o.zipf ? "zipf" : "uniform";
  j["connections"] = r.result->spec.connections;
  j["threads"] = o.threads;
  j["seconds"] = r.result->elapsed;
  j["requests"] = n;
  j["ok"] = n - s.Non2xx();
  j["errors"] = s.Non2xx() + s.TransportErrors();
  j["rps"] = static_cast<double>(n) / std::max(r.result->elapsed, 1e-9);
  j["client_cpu_seconds"] = r.result->client_cpu;
  j["reconnects"] = r.result->reconnects;
  j["drained"] = r.result->drained;
  j["bytes_in"] = s.bytes_in;
  j["latency_us"] = {{"p50", Us(s.hist.Percentile(0.50))},   {"p90", Us(s.hist.Percentile(0.90))},
                     {"p99", Us(s.hist.Percentile(0.99))},   {"p999", Us(s.hist.Percentile(0.999))},
                     {"max", Us(s.hist.max())},              {"min", Us(s.hist.min())},
                     {"mean", s.hist.mean() / 1000.0}};
  json status = json::object();
  for (size_t code = 0; code < s.status.size(); ++code) {
    if (s.status[code]) status[std::to_string(code)] = s.status[code];
  }
  j["status"] = status;
  j["transport_errors"] = s.transport;
  j["bad_body"] = s.bad_body;
  if (r.op == "load") j["keys_loaded"] = r.result->keys_loaded;
  json cdf = json::array();
  for (const auto& [ns, frac] : s.hist.Cdf()) cdf.push_back({Us(ns), frac});
  j["cdf_us"] = cdf;
  return j;
}

std::string Now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

bool WriteOut(const Options& o, const std::vector<Row>& rows, const json& admin) {
  if (o.out.empty()) return true;
  if (o.out.ends_with(".json")) {
    json doc;
    doc["tool"] = "kyrodb-bench";
    doc["label"] = o.label;
    doc["base"] = o.base;
    doc["date"] = Now();
    doc["config"] = {{"load_n", o.load_n},
                     {"val_bytes", o.val_bytes},
                     {"key_space", o.KeySpace()},
                     {"dist", o.zipf ? "zipf" : "uniform"},
                     {"zipf_theta", o.zipf_theta},
                     {"route", RouteName(o.route)},
                     {"threads", o.threads},
                     {"seed", o.seed}};
    doc["hardware_concurrency"] = std::thread::hardware_concurrency();
    json phases = json::array();
    for (const Row& r : rows) phases.push_back(RowJson(r, o));
    doc["phases"] = phases;
    if (!admin.empty()) doc["admin"] = admin;
    std::ofstream f(o.out, std::ios::trunc);
    f << doc.dump(1) << "\n";
    if (!f) {
      std::fprintf(stderr, "kyrodb-bench: cannot write %s\n", o.out.c_str());
      return false;
    }
  } else {
    bool fresh = true;
    {
      std::ifstream in(o.out);
      fresh = !in || in.peek() == std::ifstream::traits_type::eof();
    }
    std::ofstream f(o.out, std::ios::app);
    if (fresh) {
      f << "date,label,phase,op,route,dist,connections,threads,seconds,requests,errors,rps,"
           "p50_us,p90_us,p99_us,p999_us,max_us,mean_us,client_cpu_s\n";
    }
    std::string date = Now();
    for (const Row& r : rows) {
      json j = RowJson(r, o);
      const json& l = j["latency_us"];
      char line[512];
      std::snprintf(line, sizeof line, "%s,%s,%s,%s,%s,%s,%u,%u,%.3f,%llu,%llu,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.3f\n",
                    date.c_str(), o.label.c_str(), r.phase.c_str(), r.op.c_str(), RouteName(o.route),
                    o.zipf ? "zipf" : "uniform", r.result->spec.connections, o.threads, r.result->elapsed,
                    static_cast<unsigned long long>(j["requests"].get<uint64_t>()),
                    static_cast<unsigned long long>(j["errors"].get<uint64_t>()), j["rps"].get<double>(),
                    l["p50"].get<double>(), l["p90"].get<double>(), l["p99"].get<double>(), l["p999"].get<double>(),
                    l["max"].get<double>(), l["mean"].get<double>(), r.result->client_cpu);
      f << line;
    }
    if (!f) {
      std::fprintf(stderr, "kyrodb-bench: cannot write %s\n", o.out.c_str());
      return false;
    }
  }
  std::printf("wrote %s\n", o.out.c_str());
  return true;
}

// One descriptor per connection: raise the soft RLIMIT_NOFILE (up to the hard
// limit) so thousands of connections do not fail with EMFILE.
void RaiseFileLimit(const Options& o) {
  const rlim_t need =
      static_cast<rlim_t>(std::max({o.load_concurrency, o.read_concurrency, o.write_concurrency})) + 64;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) return;
  rlimit want = rl;
  want.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need : std::min(need, rl.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &want) != 0 || want.rlim_cur < need) {
    std::fprintf(stderr, "kyrodb-bench: open-file limit %llu (hard %llu) is below the %llu connections need; "
                 "raise it (ulimit -Hn)\n",
                 static_cast<unsigned long long>(want.rlim_cur), static_cast<unsigned long long>(rl.rlim_max),
                 static_cast<unsigned long long>(need));
  }
}

// --admin-every: checkpoints on demand while the load runs.
class AdminLoop {
 public:
  struct RouteStats {
    uint64_t calls = 0;
    std::map<std::string, uint64_t> outcomes;  // "200", "503", "timeout: ..."
    double max_seconds = 0;
  };

  AdminLoop(Runner& runner, double every) : runner_(runner), every_(every) {
    if (every_ > 0) thread_ = std::thread([this] { Run(); });
  }
  ~AdminLoop() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  const std::map<std::string, RouteStats>& stats() const { return stats_; }

 private:
  void Run() {
    static const char* kRoutes[] = {"/v1/compact", "/v1/rmi/build"};
    for (unsigned n = 0;; ++n) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, std::chrono::duration<double>(every_), [this] { return stop_; })) return;
      }
      const char* route = kRoutes[n % 2];
      auto t0 = std::chrono::steady_clock::now();
      auto r = runner_.Request("POST", route, "", std::chrono::seconds(60));
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      RouteStats& st = stats_[route];
      ++st.calls;
      std::string outcome = r.status ? std::to_string(r.status) : r.error;
      if (r.status != 0 && r.status != 200) {
        // "503 too_many_connections": the error code says which limit.
        json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
        if (body.is_object() && body.contains("error") && body["error"].is_object()) {
          outcome += " " + body["error"].value("code", std::string());
        }
      }
      ++st.outcomes[outcome];
      st.max_seconds = std::max(st.max_seconds, secs);
    }
  }

  Runner& runner_;
  double every_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, RouteStats> stats_;  // written by the thread until Stop()
  std::thread thread_;
};

int WaitReady(Runner& runner, const Options& o) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(o.wait_ready));
  unsigned tries = 0;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    ++tries;
    auto r = runner.Request("GET", "/ready", "", std::chrono::milliseconds(500));
    if (r.status == 200) {
      auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
      double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("ready after %.3f s (%u polls) ready_unix_ns=%lld\n", waited, tries, static_cast<long long>(wall));
      std::fflush(stdout);
      return 0;
    }
    last = r.status ? "HTTP " + std::to_string(r.status) : r.error;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::fprintf(stderr, "kyrodb-bench: /ready did not answer 200 within %.1f s (last: %s)\n", o.wait_ready,
               last.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseOptions(argc, argv);
  if (!CheckLoopback(o)) return 2;
  RaiseFileLimit(o);

  Runner runner(o);
  if (o.wait_ready > 0 && WaitReady(runner, o) != 0) return 1;

  std::deque<PhaseResult> results;  // rows point into it
  std::vector<Row> rows;
  auto run = [&](const PhaseSpec& spec) -> const PhaseResult& {
    results.push_back(runner.Run(spec));
    return results.back();
  };

  std::printf("kyrodb-bench %s: base %s, route %s, %s keys over [0, %llu), %zu-byte values, %u I/O thread(s)\n",
              o.label.c_str(), o.base.c_str(), RouteName(o.route), o.zipf ? "zipf" : "uniform",
              static_cast<unsigned long long>(o.KeySpace()), o.val_bytes, o.threads);
  std::fflush(stdout);

  if (o.load_n > 0) {
    PhaseSpec load;
    load.name = "load";
    load.kind = PhaseKind::kLoad;
    load.connections = o.load_concurrency;
    load.seconds = o.load_timeout;
    load.load_begin = 0;
    load.load_end = o.load_n;
    const PhaseResult& r = run(load);
    std::printf("load: %llu of %llu keys in %.2f s (%.0f keys/s)\n", static_cast<unsigned long long>(r.keys_loaded),
                static_cast<unsigned long long>(o.load_n), r.elapsed,
                static_cast<double>(r.keys_loaded) / std::max(r.elapsed, 1e-9));
    rows.push_back({"load", "load", &r, r.All()});
    if (r.keys_loaded < o.load_n) {
      std::printf("load: incomplete (%s)\n", ErrorSummary(r.All()).c_str());
    }
    if (o.build_index && (o.route == Route::kGetFast || o.route == Route::kLookup || o.route == Route::kKv)) {
      auto t0 = std::chrono::steady_clock::now();
      auto b = runner.Request("POST", "/v1/rmi/build", "", std::chrono::seconds(300));
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("index build: %s in %.2f s %s\n", b.status ? ("HTTP " + std::to_string(b.status)).c_str() : b.error.c_str(),
                  secs, b.body.substr(0, 200).c_str());
    }
    std::fflush(stdout);
  }

  struct Measured {
    const char* name;
    PhaseKind kind;
    unsigned conns;
    double seconds;
    double mix;
  };
  std::vector<Measured> plan;
  if (o.read_seconds > 0) plan.push_back({"read", PhaseKind::kRead, o.read_concurrency, o.read_seconds, 1.0});
  if (o.write_seconds > 0) plan.push_back({"write", PhaseKind::kWrite, o.write_concurrency, o.write_seconds, 0.0});
  if (o.mix && o.mix_seconds > 0) plan.push_back({"mixed", PhaseKind::kMixed, o.read_concurrency, o.mix_seconds, *o.mix});

  AdminLoop admin(runner, plan.empty() ? 0 : o.admin_every);
  for (const Measured& m : plan) {
    if (runner.dead()) break;
    PhaseSpec spec;
    spec.kind = m.kind;
    spec.connections = m.conns;
    spec.mix = m.mix;
    if (o.warmup_seconds > 0) {
      spec.name = std::string("warmup-") + m.name;
      spec.seconds = o.warmup_seconds;
      runner.Run(spec);
    }
    spec.name = m.name;
    spec.seconds = m.seconds;
    const PhaseResult& r = run(spec);
    if (m.kind == PhaseKind::kRead) {
      rows.push_back({"read", "read", &r, r.reads});
    } else if (m.kind == PhaseKind::kWrite) {
      rows.push_back({"write", "write", &r, r.writes});
    } else {
      rows.push_back({"mixed", "all", &r, r.All()});
      rows.push_back({"mixed.read", "read", &r, r.reads});
      rows.push_back({"mixed.write", "write", &r, r.writes});
    }
    if (!r.drained) std::printf("%s: connections were cut after the drain grace\n", m.name);
    std::printf("%s: client used %.2f CPU-s in %.2f s\n", m.name, r.client_cpu, r.elapsed);
    std::fflush(stdout);
  }

  admin.Stop();
  json admin_json = json::object();
  for (const auto& [route, st] : admin.stats()) {
    std::string outcomes;
    for (const auto& [what, n] : st.outcomes) {
      outcomes += (outcomes.empty() ? "" : ", ") + (std::isdigit(static_cast<unsigned char>(what[0])) ? "HTTP " + what : what) +
                  ": " + std::to_string(n);
    }
    std::printf("admin %s: %llu calls (%s), slowest %.2f s\n", route.c_str(), static_cast<unsigned long long>(st.calls),
                outcomes.c_str(), st.max_seconds);
    admin_json[route] = {{"calls", st.calls}, {"outcomes", st.outcomes}, {"max_seconds", st.max_seconds}};
  }

  if (!rows.empty()) PrintTable(rows);
  if (!WriteOut(o, rows, admin_json)) return 1;
  return runner.dead() ? 1 : 0;
}
