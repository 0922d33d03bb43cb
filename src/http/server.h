// The HTTP server: HttpOptions::threads I/O threads, each running its own
// io_context (io_pool.h), a listener spreading connections over them, small
// pools for blocking store calls, and the SIGINT/SIGTERM handling that
// drives a graceful stop.
//
// Life cycle (main.cpp):
//   Server s(opts, registry, simd);  s.Listen();  s.Start();
//   ... Store::Open in the background; s.SetStore(store); s.SetReady();
//   s.WaitForStopRequest();          // a signal, or RequestStop()
//   s.Drain();                       // stop accepting, finish in-flight
//   s.Stop();                        // join threads
//   store->Close();
#pragma once

#include <prometheus/registry.h>

#include <condition_variable>
#include <memory>
#include <mutex>

#include "http/http_options.h"
#include "kyrodb/status.h"
#include "kyrodb/store.h"

namespace kyrodb::http {

struct ServerState;
class Connections;
class Listener;

class Server {
 public:
  // `simd_level_name` feeds /build_info (may be nullptr).
  Server(HttpOptions options, prometheus::Registry& registry, const char* (*simd_level_name)() = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket. Fails with a message naming host and port.
  kyrodb::Status Listen();
  // The bound port (useful with port 0).
  uint16_t port() const;

  // Starts the I/O threads, accepting and signal handling.
  void Start();

  // /v1 routes answer from `store` from now on (503 before). Not owned; must
  // outlive Stop().
  void SetStore(kyrodb::Store* store);
  // /ready answers 200 from now on.
  void SetReady();

  // Blocks until SIGINT/SIGTERM or RequestStop(). A second signal while
  // stopping exits the process at once.
  void WaitForStopRequest();
  void RequestStop();

  // Stops accepting and answers in-flight requests, for up to
  // shutdown_timeout; then closes what is left.
  void Drain();
  // Waits for blocking tasks, stops and joins the I/O threads. Idempotent.
  void Stop();

  ServerState& state() { return *state_; }

 private:
  struct Runtime;  // Asio objects, kept out of this header

  void WaitForSignal();

  std::shared_ptr<ServerState> state_;
  std::unique_ptr<Runtime> rt_;
  std::shared_ptr<Connections> connections_;
  std::shared_ptr<Listener> listener_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;
  bool stopped_ = false;
};

}  // namespace kyrodb::http
