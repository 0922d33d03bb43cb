// Coarse connection deadlines, swept by one timer per I/O thread.
//
// Why not a timer per operation (beast::tcp_stream): arming, cancelling and
// completing a steady_timer around every read and write cost two timer-queue
// updates and an extra handler per operation, a measurable share of a small
// GET (docs/BENCHMARKS.md, "Profile"). A connection here only stores its
// deadlines; a periodic sweep on the connection's own I/O thread closes the
// ones that passed. A timeout thus fires up to one tick late, which is fine
// for timeouts of seconds.
//
// Threading: a Deadlines belongs to one io_context that exactly one thread
// runs; Watch and the sweep run on that thread only, as do the Expire calls,
// so connections need no locking for their deadline fields.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace kyrodb::http {

using Clock = std::chrono::steady_clock;

// What a sweep calls: close the connection if one of its deadlines is at or
// before `now`.
class Expirable {
 public:
  virtual ~Expirable() = default;
  virtual void Expire(Clock::time_point now) = 0;
};

// One read-side and one write-side deadline (a connection may read ahead
// while it writes). Plain fields: only the owning I/O thread touches them.
struct ConnectionDeadlines {
  static constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point read = kNever;
  Clock::time_point write = kNever;

  bool Passed(Clock::time_point now) const { return read <= now || write <= now; }
};

class Deadlines {
 public:
  Deadlines(boost::asio::io_context& ioc, std::chrono::milliseconds tick);
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;

  // On the owning thread. The connection is dropped from the list once it
  // is gone (weak_ptr expired).
  void Watch(std::weak_ptr<Expirable> connection);
  // Starts the periodic sweep; Stop() cancels it (both thread-safe).
  void Start();
  void Stop();

  std::chrono::milliseconds tick() const { return tick_; }

 private:
  void Arm();
  void Sweep();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds tick_;
  std::vector<std::weak_ptr<Expirable>> watched_;
  std::vector<std::shared_ptr<Expirable>> due_;  // reused by Sweep
};

// The sweep period for a set of timeouts: a tenth of the shortest, within
// [10 ms, 250 ms], so a timeout fires at most ~10 % late.
std::chrono::milliseconds SweepTick(std::initializer_list<std::chrono::milliseconds> timeouts);

}  // namespace kyrodb::http
