// Capped exponential backoff with optional full jitter. Pure: no clock, no sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace socialai {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30000};
};

// Delay before retry number `attempt` (0-based): initial * 2^attempt, capped at max.
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, unsigned attempt);

// Same, with "equal jitter": a value in [d/2, d] drawn from `random01` in [0, 1).
std::chrono::milliseconds jittered_delay(const BackoffPolicy& policy, unsigned attempt,
                                         double random01);

// A thread-local uniform draw in [0, 1) for callers that want real jitter.
double random_unit();

}  // namespace socialai
