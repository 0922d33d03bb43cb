#include "http/deadlines.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace kyrodb::http {
namespace {

struct Recorder final : Expirable {
  ConnectionDeadlines deadline;
  std::vector<Clock::time_point> calls;
  void Expire(Clock::time_point now) override {
    calls.push_back(now);
    if (deadline.Passed(now)) deadline = ConnectionDeadlines();  // as a session closes
  }
};

TEST(Deadlines, SweepReachesEveryLiveConnectionAndDropsGoneOnes) {
  boost::asio::io_context ioc(1);
  Deadlines deadlines(ioc, std::chrono::milliseconds(10));
  auto due = std::make_shared<Recorder>();
  due->deadline.read = Clock::now();
  auto idle = std::make_shared<Recorder>();
  auto gone = std::make_shared<Recorder>();
  deadlines.Watch(due);
  deadlines.Watch(idle);
  deadlines.Watch(gone);
  std::weak_ptr<Recorder> gone_weak = gone;
  gone.reset();
  deadlines.Start();
  ioc.run_for(std::chrono::milliseconds(100));
  EXPECT_GE(due->calls.size(), 2u);
  EXPECT_EQ(due->deadline.read, ConnectionDeadlines::kNever);
  EXPECT_EQ(idle->calls.size(), due->calls.size());
  EXPECT_TRUE(gone_weak.expired());
}

TEST(Deadlines, StopEndsTheSweep) {
  boost::asio::io_context ioc(1);
  Deadlines deadlines(ioc, std::chrono::milliseconds(10));
  auto conn = std::make_shared<Recorder>();
  deadlines.Watch(conn);
  deadlines.Start();
  ioc.run_for(std::chrono::milliseconds(50));
  deadlines.Stop();
  ioc.run_for(std::chrono::milliseconds(20));
  size_t calls = conn->calls.size();
  ioc.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(conn->calls.size(), calls);
  EXPECT_TRUE(ioc.stopped());  // nothing left to run: the timer is gone
}

TEST(Deadlines, TickIsATenthOfTheShortestTimeoutWithinBounds) {
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(SweepTick({ms(10000), ms(60000), ms(30000)}), ms(250));
  EXPECT_EQ(SweepTick({ms(1000), ms(60000)}), ms(100));
  EXPECT_EQ(SweepTick({ms(50)}), ms(10));
}

}  // namespace
}  // namespace kyrodb::http
