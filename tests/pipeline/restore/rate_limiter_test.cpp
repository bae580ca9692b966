// Produce pacing (pipeline/restore/rate_limiter.hpp) on a clock the test moves.
#include <gtest/gtest.h>

#include "pipeline/restore/rate_limiter.hpp"

namespace kb::pipeline::restore {
namespace {

using namespace std::chrono_literals;

TEST(rate_limiter, no_limit_admits_everything) {
  rate_limiter r(0, 0);
  const auto t = rate_limiter::clock::now();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(r.admits(1'000'000, 1'000'000'000, t));
    r.sent(1'000'000, 1'000'000'000);
  }
}

TEST(rate_limiter, records_per_second_allow_one_second_ahead_then_follow_the_clock) {
  rate_limiter r(100, 0);
  const auto t0 = rate_limiter::clock::now();
  ASSERT_TRUE(r.admits(60, 0, t0));
  r.sent(60, 0);
  EXPECT_TRUE(r.admits(40, 0, t0)) << "100 within the first second's burst";
  r.sent(40, 0);
  EXPECT_FALSE(r.admits(1, 0, t0));
  EXPECT_FALSE(r.admits(1, 0, t0 + 9ms));
  EXPECT_TRUE(r.admits(1, 0, t0 + 10ms)) << "one record per 10 ms at 100/s";
  EXPECT_TRUE(r.admits(100, 0, t0 + 1s));
  EXPECT_FALSE(r.admits(101, 0, t0 + 1s));
}

TEST(rate_limiter, bytes_per_second_limit_alone) {
  rate_limiter r(0, 1000);
  const auto t0 = rate_limiter::clock::now();
  ASSERT_TRUE(r.admits(1, 800, t0));
  r.sent(1, 800);
  EXPECT_FALSE(r.admits(1, 201, t0));
  EXPECT_TRUE(r.admits(1'000'000, 200, t0)) << "records are not limited";
  EXPECT_TRUE(r.admits(1, 1200, t0 + 1s));
}

TEST(rate_limiter, the_first_batch_goes_however_large) {
  rate_limiter r(10, 10);
  const auto t0 = rate_limiter::clock::now();
  EXPECT_TRUE(r.admits(5000, 5'000'000, t0));
  r.sent(5000, 5'000'000);
  EXPECT_FALSE(r.admits(1, 1, t0 + 10s));
}

TEST(rate_limiter, both_limits_must_hold) {
  rate_limiter r(100, 1000);
  const auto t0 = rate_limiter::clock::now();
  ASSERT_TRUE(r.admits(10, 900, t0));
  r.sent(10, 900);
  EXPECT_FALSE(r.admits(10, 200, t0)) << "bytes over";
  EXPECT_FALSE(r.admits(91, 10, t0)) << "records over";
  EXPECT_TRUE(r.admits(90, 100, t0));
}

TEST(rate_limiter, the_clock_starts_at_the_first_admission) {
  rate_limiter r(10, 0);
  const auto t0 = rate_limiter::clock::now();
  ASSERT_TRUE(r.admits(10, 0, t0 + 1h));
  r.sent(10, 0);
  EXPECT_FALSE(r.admits(1, 0, t0 + 1h)) << "idle time before the first send earns no credit";
}

}  // namespace
}  // namespace kb::pipeline::restore
