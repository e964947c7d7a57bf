// Token-bucket rate limiter (GCRA form): turns "N requests per minute" plus server pauses into
// per-request waits.
#include "common/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace socialai {
namespace {

using Clock = RateLimiter::Clock;

Clock::duration interval_for(double requests_per_minute) {
  if (!(requests_per_minute > 0.0)) {  // also catches NaN
    return Clock::duration::zero();
  }
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(60.0 / requests_per_minute));
}

}  // namespace

RateLimiter::RateLimiter(double requests_per_minute, unsigned burst, ClockFn clock)
    : interval_(interval_for(requests_per_minute)),
      tolerance_(interval_ * (std::max(burst, 1U) - 1U)),
      clock_(std::move(clock)) {}

std::chrono::milliseconds RateLimiter::reserve() {
  const Clock::time_point now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  // A bucket left idle refills only up to `burst`: next_ never lags behind `now`.
  const Clock::time_point due = std::max(next_, now);
  const Clock::time_point start = std::max(due - tolerance_, paused_until_);
  next_ = due + interval_;
  if (start <= now) {
    return std::chrono::milliseconds::zero();
  }
  return std::chrono::ceil<std::chrono::milliseconds>(start - now);
}

void RateLimiter::pause_until(Clock::time_point until) {
  std::lock_guard<std::mutex> lock(mu_);
  paused_until_ = std::max(paused_until_, until);
  // Tokens earned during the pause must not pile up: the window restarts at `until` with a full
  // bucket, so at most `burst` waiting callers start at `until` and the rest keep the rate.
  next_ = std::max(next_, until);
}

}  // namespace socialai
