// Per-service requests-per-minute limiter (token bucket) that also obeys the server's own
// "window exhausted" signals. Computes waits; never sleeps itself.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

namespace socialai {

// A token bucket refilled at `requests_per_minute`, holding at most `burst` tokens (full at start).
// reserve() always takes a token and tells the caller how long to wait before using it; tokens may
// go into debt, so concurrent callers are spaced out instead of all waking at once. pause_until()
// empties the bucket until a time the server named (X-Ratelimit-Reset, Retry-After); from that
// point up to `burst` requests may go at once, then the normal rate applies.
//
// Thread-safe: one limiter is meant to be shared by every client talking to the same service.
// The clock is injectable so tests can drive time without sleeping.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  using ClockFn = std::function<Clock::time_point()>;

  // requests_per_minute <= 0 means "no local limit": only pause_until() delays callers.
  // REQUIRES: burst >= 1 (0 is treated as 1).
  explicit RateLimiter(double requests_per_minute, unsigned burst = 1, ClockFn clock = &Clock::now);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Consumes one token. Returns how long the caller must wait before sending (zero when a token
  // is available now), rounded up to whole milliseconds so the caller is never early.
  std::chrono::milliseconds reserve();

  // No request may start before `until`. Never shortens an earlier pause; a time in the past has
  // no effect.
  void pause_until(Clock::time_point until);

  // The limiter's clock, so callers can compute pause_until() targets on the same time base.
  Clock::time_point now() const { return clock_(); }

 private:
  // Implemented as GCRA ("virtual scheduling"), an exact equivalent of a token bucket without
  // refill arithmetic: next_ is when the next request would be due if every request so far had
  // been sent exactly at the rate; a request may start tolerance_ earlier than that.
  const Clock::duration interval_;   // time to earn one token; zero when unlimited
  const Clock::duration tolerance_;  // (burst - 1) * interval_: how far ahead callers may run
  const ClockFn clock_;

  std::mutex mu_;
  Clock::time_point next_;          // GUARDED_BY(mu_)
  Clock::time_point paused_until_;  // GUARDED_BY(mu_)
};

}  // namespace socialai
