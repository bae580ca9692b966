// Unit tests for base/token_time.hpp: server-sent lifetimes never overflow the clock.
#include "base/token_time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace {

using clock_type = std::chrono::system_clock;
using std::chrono::seconds;

TEST(TokenTime, LifetimesAreClampedToTenYears) {
  EXPECT_EQ(kb::bounded_lifetime(std::int64_t{3600}), seconds(3600));
  EXPECT_EQ(kb::bounded_lifetime(std::int64_t{-5}), seconds(0));
  EXPECT_EQ(kb::bounded_lifetime(std::numeric_limits<std::int64_t>::max()), seconds(kb::max_token_lifetime_s));
  EXPECT_EQ(kb::bounded_lifetime(3600.9), seconds(3600));
  EXPECT_EQ(kb::bounded_lifetime(1e300), seconds(kb::max_token_lifetime_s));
  EXPECT_EQ(kb::bounded_lifetime(-1e300), seconds(0));
  EXPECT_EQ(kb::bounded_lifetime(std::numeric_limits<double>::quiet_NaN()), seconds(0));
}

TEST(TokenTime, AbsoluteExpiriesStayWithinTenYearsOfNow) {
  const auto now = clock_type::time_point(seconds(1'800'000'000));
  EXPECT_EQ(kb::bounded_expiry(1'800'003'600.0, now), now + seconds(3600));
  EXPECT_EQ(kb::bounded_expiry(5000.0, now), clock_type::time_point(seconds(5000)));  // in the past: expired
  EXPECT_EQ(kb::bounded_expiry(99999999999.0, now), now + seconds(kb::max_token_lifetime_s));
  EXPECT_EQ(kb::bounded_expiry(1e300, now), now + seconds(kb::max_token_lifetime_s));
  EXPECT_EQ(kb::bounded_expiry(-1.0, now), clock_type::time_point{});
}

}  // namespace
