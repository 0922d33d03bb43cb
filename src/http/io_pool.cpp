#include "http/io_pool.h"

#include <string>

#include "util/thread_name.h"

namespace kyrodb::http {

namespace asio = boost::asio;

// Concurrency hint 1: each context is run by one thread (Asio may skip some
// locking in its scheduler), yet other threads may still post to it.
IoPool::Worker::Worker(std::chrono::milliseconds tick)
    : ioc(1), work(asio::make_work_guard(ioc)), deadlines(ioc, tick) {}

IoPool::IoPool(unsigned threads, std::chrono::milliseconds sweep_tick) {
  unsigned n = std::max(1u, threads);
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(sweep_tick));
}

IoPool::~IoPool() { Stop(); }

IoPool::Worker& IoPool::Next() {
  return *workers_[next_.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
}

void IoPool::Start() {
  threads_.reserve(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* worker = workers_[i].get();
    worker->deadlines.Start();
    threads_.emplace_back([worker] { worker->ioc.run(); });
    SetThreadName(threads_.back(), "kyro-io-" + std::to_string(i));
  }
}

void IoPool::Stop() {
  for (auto& w : workers_) {
    w->work.reset();
    w->ioc.stop();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace kyrodb::http
