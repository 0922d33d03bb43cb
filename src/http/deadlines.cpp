#include "http/deadlines.h"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace kyrodb::http {

namespace asio = boost::asio;

Deadlines::Deadlines(asio::io_context& ioc, std::chrono::milliseconds tick) : timer_(ioc), tick_(tick) {}

void Deadlines::Watch(std::weak_ptr<Expirable> connection) { watched_.push_back(std::move(connection)); }

void Deadlines::Start() {
  asio::post(timer_.get_executor(), [this] { Arm(); });
}

void Deadlines::Stop() {
  asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
}

void Deadlines::Arm() {
  timer_.expires_after(tick_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the server stops
    Sweep();
    Arm();
  });
}

void Deadlines::Sweep() {
  const Clock::time_point now = Clock::now();
  // Collect first: Expire closes sockets, which may destroy connections
  // and so change what the weak_ptrs see, but never the vector itself.
  size_t kept = 0;
  for (size_t i = 0; i < watched_.size(); ++i) {
    std::shared_ptr<Expirable> conn = watched_[i].lock();
    if (!conn) continue;
    due_.push_back(std::move(conn));
    if (kept != i) watched_[kept] = std::move(watched_[i]);
    ++kept;
  }
  watched_.resize(kept);
  for (auto& conn : due_) conn->Expire(now);
  due_.clear();
}

std::chrono::milliseconds SweepTick(std::initializer_list<std::chrono::milliseconds> timeouts) {
  auto shortest = std::min(timeouts);
  return std::clamp(shortest / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
}

}  // namespace kyrodb::http
