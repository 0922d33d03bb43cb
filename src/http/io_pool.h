// The I/O threads: one io_context per thread, each run by exactly that
// thread, with its own deadline sweep.
//
// Why not one io_context shared by all threads with a strand per connection:
// a strand does not fit the type-erased executor's small buffer, so every
// copy of a connection's executor allocated (21 of the 40 allocations of a
// GET in the profile, docs/BENCHMARKS.md), and every handler went through the
// strand's lock. Here a connection lives on one thread for its whole life:
// its handlers never run concurrently, its executor is a concrete
// io_context::executor_type (one pointer), and other threads (the WAL thread,
// the blocking pools) reach it with asio::post.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "http/deadlines.h"

namespace kyrodb::http {

// A connection's socket, bound to its worker's io_context.
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

class IoPool {
 public:
  struct Worker {
    explicit Worker(std::chrono::milliseconds tick);
    boost::asio::io_context ioc;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
    Deadlines deadlines;
  };

  IoPool(unsigned threads, std::chrono::milliseconds sweep_tick);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // Worker 0 also runs the acceptor and the signal handling.
  Worker& First() { return *workers_.front(); }
  // Round robin over the workers, for new connections. Thread-safe.
  Worker& Next();
  size_t size() const { return workers_.size(); }

  // Starts one thread per worker.
  void Start();
  // Stops every io_context and joins the threads. Idempotent.
  void Stop();

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace kyrodb::http
