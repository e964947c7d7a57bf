// Unit tests for RateLimiter: token-bucket arithmetic and server pauses on a fake clock (no
// sleeps).
#include "common/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace socialai {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FakeClock {
 public:
  RateLimiter::Clock::time_point now() const { return now_; }
  void advance(RateLimiter::Clock::duration d) { now_ += d; }
  RateLimiter::ClockFn fn() {
    return [this] { return now_; };
  }

 private:
  RateLimiter::Clock::time_point now_ = RateLimiter::Clock::time_point{} + std::chrono::hours(1000);
};

TEST(RateLimiterTest, BurstIsAvailableAtOnceThenRateApplies) {
  FakeClock clock;
  RateLimiter limiter(60, 3, clock.fn());
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(1000));
  EXPECT_EQ(limiter.reserve(), milliseconds(2000));  // reservations queue up behind each other
}

TEST(RateLimiterTest, DefaultBurstOfOneSpacesRequests) {
  FakeClock clock;
  RateLimiter limiter(120, 1, clock.fn());
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(500));
  clock.advance(milliseconds(500));
  EXPECT_EQ(limiter.reserve(), milliseconds(500));
  clock.advance(milliseconds(200));
  EXPECT_EQ(limiter.reserve(), milliseconds(800));
}

TEST(RateLimiterTest, TokensRefillOverTime) {
  FakeClock clock;
  RateLimiter limiter(60, 2, clock.fn());
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  clock.advance(seconds(1));
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(1000));
}

TEST(RateLimiterTest, IdleTimeRefillsOnlyUpToBurst) {
  FakeClock clock;
  RateLimiter limiter(60, 2, clock.fn());
  clock.advance(std::chrono::hours(1));
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(1000));
}

TEST(RateLimiterTest, WaitIsRoundedUpToWholeMilliseconds) {
  FakeClock clock;
  RateLimiter limiter(7, 1, clock.fn());  // 8571.428... ms per request
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(8572));
}

TEST(RateLimiterTest, NonPositiveRateMeansOnlyPausesApply) {
  FakeClock clock;
  RateLimiter limiter(0, 1, clock.fn());
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(limiter.reserve(), milliseconds(0));
  }
  limiter.pause_until(clock.now() + seconds(3));
  EXPECT_EQ(limiter.reserve(), milliseconds(3000));
  EXPECT_EQ(limiter.reserve(), milliseconds(3000));
  clock.advance(seconds(3));
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
}

TEST(RateLimiterTest, PauseDelaysEveryoneUntilTheResetThenKeepsTheRate) {
  FakeClock clock;
  RateLimiter limiter(60, 2, clock.fn());
  limiter.pause_until(clock.now() + seconds(10));
  // The bucket restarts full at the reset: `burst` requests go then, the rest keep the rate,
  // instead of every token "earned" during the pause firing at once.
  EXPECT_EQ(limiter.reserve(), milliseconds(10000));
  EXPECT_EQ(limiter.reserve(), milliseconds(10000));
  EXPECT_EQ(limiter.reserve(), milliseconds(11000));
  EXPECT_EQ(limiter.reserve(), milliseconds(12000));
}

TEST(RateLimiterTest, PauseNeverShortensAndPastPausesAreIgnored) {
  FakeClock clock;
  RateLimiter limiter(0, 1, clock.fn());
  limiter.pause_until(clock.now() + seconds(10));
  limiter.pause_until(clock.now() + seconds(2));
  EXPECT_EQ(limiter.reserve(), milliseconds(10000));

  RateLimiter fresh(60, 1, clock.fn());
  fresh.pause_until(clock.now() - seconds(5));
  EXPECT_EQ(fresh.reserve(), milliseconds(0));
  EXPECT_EQ(fresh.reserve(), milliseconds(1000));
}

TEST(RateLimiterTest, PauseAfterReservationsDoesNotDropTheirDebt) {
  FakeClock clock;
  RateLimiter limiter(60, 1, clock.fn());
  EXPECT_EQ(limiter.reserve(), milliseconds(0));
  EXPECT_EQ(limiter.reserve(), milliseconds(1000));
  EXPECT_EQ(limiter.reserve(), milliseconds(2000));
  limiter.pause_until(clock.now() + milliseconds(500));  // earlier than the queue already is
  EXPECT_EQ(limiter.reserve(), milliseconds(3000));
}

TEST(RateLimiterTest, ConcurrentCallersGetDistinctSlots) {
  FakeClock clock;  // frozen: only the limiter's own state changes
  RateLimiter limiter(60, 1, clock.fn());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::mutex mu;
  std::vector<milliseconds> waits;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<milliseconds> mine;
      for (int i = 0; i < kPerThread; ++i) {
        mine.push_back(limiter.reserve());
      }
      std::lock_guard<std::mutex> lock(mu);
      waits.insert(waits.end(), mine.begin(), mine.end());
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  std::sort(waits.begin(), waits.end());
  ASSERT_EQ(waits.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 0; i < waits.size(); ++i) {
    EXPECT_EQ(waits[i], milliseconds(1000 * static_cast<long long>(i)));
  }
}

}  // namespace
}  // namespace socialai
