// kyrodb-engine: wiring only. Parse the configuration, start the HTTP server
// (so /health and /ready answer 503 during recovery), open the store in the
// background, serve until SIGINT/SIGTERM, then drain and close the store.
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "http/server.h"
#include "http/simd_level.h"
#include "kyrodb/build_info.h"
#include "kyrodb/fs.h"
#include "kyrodb/options.h"
#include "kyrodb/store.h"
#include "kyrodb/verify.h"
#include "log/log.h"

namespace {

using kyrodb::log::Error;
using kyrodb::log::Info;
using kyrodb::log::Warn;

// Every connection is a descriptor, plus the WAL, snapshot and index files:
// raise the soft limit toward the hard one so KYRODB_MAX_CONNECTIONS is
// reachable with a default `ulimit -n` of 1024.
void RaiseFileLimit(size_t max_connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t want = static_cast<rlim_t>(max_connections) + 256;
  if (lim.rlim_cur >= want) return;
  rlim_t target = (lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= want) ? want : lim.rlim_max;
  rlimit raised = lim;
  raised.rlim_cur = target;
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0 || target < want) {
    Warn("file_limit_low", {{"max_connections", max_connections},
                            {"nofile_soft", static_cast<uint64_t>(target)},
                            {"hint", "raise the hard limit (ulimit -Hn / LimitNOFILE=) or lower KYRODB_MAX_CONNECTIONS"}});
  }
}

int Serve(const kyrodb::config::ParseResult& parsed) {
  const kyrodb::config::ServerConfig& cfg = parsed.config;
  kyrodb::log::Init(cfg.log_level);  // validated by the parser
  for (const std::string& w : parsed.warnings) Warn("config_warning", {{"message", w}});
  RaiseFileLimit(cfg.http.max_connections);
  Info("starting", {{"version", kyrodb::build::kVersion},
                    {"commit", kyrodb::build::kCommit},
                    {"data_dir", cfg.store.data_dir},
                    {"fsync_policy", kyrodb::FsyncPolicyName(cfg.store.fsync_policy)},
                    {"wal_pipeline", kyrodb::WalPipelineName(cfg.store.wal_pipeline)},
                    {"wal_pipelined", kyrodb::UseWalPipeline(cfg.store.fsync_policy, cfg.store.wal_pipeline,
                                                             kyrodb::UsableCpus())},
                    {"cpus", kyrodb::UsableCpus()},
                    {"host", cfg.http.host},
                    {"port", cfg.http.port},
                    {"threads", cfg.http.threads},
                    {"auth", !cfg.http.auth_token.empty()},
                    {"admin_auth", !cfg.http.admin_token.empty()}});

  prometheus::Registry registry;
  kyrodb::Options store_options = cfg.store;
  store_options.registry = &registry;

  kyrodb::http::Server server(cfg.http, registry, &kyrodb::index::SimdLevelName);
  kyrodb::Status listen = server.Listen();
  if (!listen.ok()) {
    Error("listen_failed", {{"error", listen.ToString()}});
    return 1;
  }
  server.Start();

  std::unique_ptr<kyrodb::Store> store;
  std::atomic<bool> open_failed{false};
  std::thread opener([&] {
    auto t0 = std::chrono::steady_clock::now();
    kyrodb::Status s = kyrodb::Store::Open(store_options, &store);
    if (!s.ok()) {
      Error("store_open_failed", {{"data_dir", store_options.data_dir}, {"error", s.ToString()}});
      open_failed = true;
      server.RequestStop();
      return;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    Info("store_opened", {{"recovery_ms", ms}, {"last_offset", store->LastOffset()}});
    server.SetStore(store.get());
    // Warm before /ready turns 200, so a load balancer never routes traffic
    // to a cold node; /v1 already answers meanwhile.
    if (store_options.warm_on_start) {
      store->Warmup();
      Info("warmup_done");
    }
    server.SetReady();
    Info("ready");
  });

  server.WaitForStopRequest();
  // Recovery cannot be interrupted half-way; a second signal forces the exit.
  opener.join();
  server.Drain();
  server.Stop();
  if (store) store->Close();  // syncs the WAL; logs store_closed
  Info("stopped", {{"exit_code", open_failed ? 1 : 0}});
  spdlog::shutdown();
  return open_failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  kyrodb::config::ParseResult parsed = kyrodb::config::ParseCommandLine(
      args, kyrodb::config::EnvironmentFromProcess(), kyrodb::UsableCpus());
  if (!parsed.ok()) {
    std::fprintf(stderr, "kyrodb-engine: %s\n", parsed.error.c_str());
    return 2;
  }
  switch (parsed.command) {
    case kyrodb::config::Command::kHelp:
      std::fputs(parsed.help.c_str(), stdout);
      return 0;
    case kyrodb::config::Command::kVersion:
      std::printf("kyrodb-engine %s (commit %s, %s, %s)\n", kyrodb::build::kVersion, kyrodb::build::kCommit,
                  kyrodb::build::kBuildType, kyrodb::build::kCompiler);
      return 0;
    case kyrodb::config::Command::kVerify: {
      // Offline: prints a line per file, exits 1 on anything that would stop
      // the server from starting.
      std::string report;
      kyrodb::Status s = kyrodb::VerifyDataDir(parsed.config.store.data_dir, kyrodb::PosixFileSystem(), &report);
      std::fputs(report.c_str(), stdout);
      std::printf("verify %s: %s\n", parsed.config.store.data_dir.c_str(), s.ok() ? "OK" : s.ToString().c_str());
      return s.ok() ? 0 : 1;
    }
    case kyrodb::config::Command::kServe:
      break;
  }
  return Serve(parsed);
}
