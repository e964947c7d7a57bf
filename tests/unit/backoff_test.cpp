// Capped exponential backoff arithmetic.
#include "common/backoff.h"

#include <gtest/gtest.h>

namespace socialai {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesUntilCap) {
  const BackoffPolicy p{milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(backoff_delay(p, 0), milliseconds(100));
  EXPECT_EQ(backoff_delay(p, 1), milliseconds(200));
  EXPECT_EQ(backoff_delay(p, 3), milliseconds(800));
  EXPECT_EQ(backoff_delay(p, 4), milliseconds(1000));
  EXPECT_EQ(backoff_delay(p, 1000), milliseconds(1000));  // no overflow
}

TEST(Backoff, JitterStaysInUpperHalf) {
  const BackoffPolicy p{milliseconds(100), milliseconds(1000)};
  EXPECT_EQ(jittered_delay(p, 2, 0.0), milliseconds(200));
  EXPECT_EQ(jittered_delay(p, 2, 0.999), milliseconds(399));
  for (int i = 0; i < 100; ++i) {
    const double r = random_unit();
    ASSERT_GE(r, 0.0);
    ASSERT_LT(r, 1.0);
  }
}

}  // namespace
}  // namespace socialai
