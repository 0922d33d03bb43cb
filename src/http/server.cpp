#include "http/server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <latch>
#include <memory>
#include <string>
#include <thread>

#include "http/api.h"
#include "http/connections.h"
#include "http/io_pool.h"
#include "http/listener.h"
#include "http/session.h"
#include "log/log.h"
#include "util/thread_name.h"

namespace kyrodb::http {

namespace asio = boost::asio;

namespace {
// Threads for Checkpoint and Warmup: the engine serialises checkpoints, the
// second thread keeps a warm-up from waiting behind one.
constexpr int kBlockingThreads = 2;
// Threads for Store::ReadLog (replay pages, subscribers catching up): apart
// from the checkpoint pool so a reader never waits behind a checkpoint.
constexpr int kReaderThreads = 2;
constexpr auto kDrainPoll = std::chrono::milliseconds(10);
constexpr auto kAbortGrace = std::chrono::seconds(1);

// Names each of a pool's `threads` threads `name`-N for top -H, ps -L and
// perf: one task per thread, each holding its thread until all have started,
// so no thread runs two of them.
void NameThreads(asio::thread_pool& pool, int threads, const std::string& name) {
  auto all = std::make_shared<std::latch>(threads);
  for (int i = 0; i < threads; ++i) {
    asio::post(pool, [all, name, i] {
      SetThreadName(name + "-" + std::to_string(i));
      all->arrive_and_wait();
    });
  }
  all->wait();
}
}  // namespace

struct Server::Runtime {
  explicit Runtime(const HttpOptions& o)
      : io(o.threads, SweepTick({o.read_timeout, o.idle_timeout, o.write_timeout})),
        signals(io.First().ioc, SIGINT, SIGTERM) {
    NameThreads(blocking, kBlockingThreads, "kyro-blocking");
    NameThreads(readers, kReaderThreads, "kyro-reader");
  }
  IoPool io;
  asio::signal_set signals;
  asio::thread_pool blocking{kBlockingThreads};
  asio::thread_pool readers{kReaderThreads};
  int signal_count = 0;
};

Server::Server(HttpOptions options, prometheus::Registry& registry, const char* (*simd_level_name)())
    : state_(std::make_shared<ServerState>(std::move(options), registry)),
      rt_(std::make_unique<Runtime>(state_->options)),
      connections_(std::make_shared<Connections>(state_->metrics.connections_active())),
      listener_(std::make_shared<Listener>(rt_->io, state_, connections_)) {
  state_->simd_level_name = simd_level_name;
  state_->run_blocking = [pool = &rt_->blocking](std::function<void()> task) { asio::post(*pool, std::move(task)); };
  state_->run_reader = [pool = &rt_->readers](std::function<void()> task) { asio::post(*pool, std::move(task)); };
}

Server::~Server() { Stop(); }

kyrodb::Status Server::Listen() { return listener_->Open(state_->options.host, state_->options.port); }

uint16_t Server::port() const { return listener_->port(); }

void Server::Start() {
  WaitForSignal();
  listener_->Start();
  rt_->io.Start();
  log::Info("http_listening", {{"host", state_->options.host}, {"port", port()}, {"threads", rt_->io.size()}});
}

void Server::WaitForSignal() {
  rt_->signals.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (++rt_->signal_count > 1) {
      log::Warn("forced_exit", {{"signal", signo}});
      spdlog::default_logger_raw()->flush();
      std::_Exit(1);
    }
    log::Info("signal_received", {{"signal", signo}});
    RequestStop();
    WaitForSignal();  // a second signal forces the exit
  });
}

void Server::SetStore(kyrodb::Store* store) { state_->store.store(store, std::memory_order_release); }

void Server::SetReady() { state_->ready.store(true); }

void Server::WaitForStopRequest() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return stop_requested_; });
}

void Server::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
  }
  cv_.notify_all();
}

void Server::Drain() {
  state_->draining.store(true);
  listener_->Stop();
  for (auto& session : connections_->Live()) session->Drain();

  auto deadline = std::chrono::steady_clock::now() + state_->options.shutdown_timeout;
  while (connections_->Count() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kDrainPoll);
  }
  size_t left = connections_->Count();
  if (left > 0) {
    log::Warn("http_drain_timeout", {{"connections", left}});
    for (auto& session : connections_->Live()) session->Abort();
    auto grace = std::chrono::steady_clock::now() + kAbortGrace;
    while (connections_->Count() > 0 && std::chrono::steady_clock::now() < grace) {
      std::this_thread::sleep_for(kDrainPoll);
    }
  }
  log::Info("http_drained", {{"connections_left", connections_->Count()}});
}

void Server::Stop() {
  if (stopped_) return;
  stopped_ = true;
  rt_->blocking.join();  // a checkpoint in progress finishes
  rt_->readers.join();
  rt_->io.Stop();
}

}  // namespace kyrodb::http
