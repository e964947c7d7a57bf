// Capped exponential backoff (pure arithmetic; callers own the clock).
#include "common/backoff.h"

#include <algorithm>
#include <random>

namespace socialai {

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, unsigned attempt) {
  const auto max = std::max(policy.max, policy.initial);
  auto d = policy.initial;
  for (unsigned i = 0; i < attempt && d < max; ++i) {
    d *= 2;
  }
  return std::min(d, max);
}

std::chrono::milliseconds jittered_delay(const BackoffPolicy& policy, unsigned attempt,
                                         double random01) {
  const auto d = backoff_delay(policy, attempt);
  const double half = static_cast<double>(d.count()) / 2.0;
  return std::chrono::milliseconds(static_cast<std::int64_t>(half + half * random01));
}

double random_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace socialai
