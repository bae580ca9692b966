// The storage retry policy with an injected clock: exponential growth with jitter, the cap, the
// total budget, the attempt limit, Retry-After, and the final "giving up" text.
#include "storage/retry_policy.hpp"

#include <set>

#include <gtest/gtest.h>

namespace kb::storage {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct fake_clock {
  steady::time_point now = steady::time_point(1000s);
  retry_policy::clock_fn fn() {
    return [this] { return now; };
  }
};

TEST(RetryPolicy, GrowsExponentiallyWithJitterUpToTheCap) {
  fake_clock clock;
  retry_settings s;
  s.initial_backoff = 200ms;
  s.max_backoff = 10s;
  s.budget = 1h;
  retry_policy p(s, clock.fn(), 42);
  std::chrono::milliseconds cap = 200ms;
  for (int i = 0; i < 12; ++i) {
    auto d = p.next_delay();
    ASSERT_TRUE(d) << "attempt " << i;
    EXPECT_GE(*d, cap / 2) << "attempt " << i;
    EXPECT_LE(*d, cap) << "attempt " << i;
    clock.now += *d;
    cap = std::min<std::chrono::milliseconds>(cap * 2, 10s);
  }
  EXPECT_EQ(p.attempts(), 12);
}

TEST(RetryPolicy, JitterSpreadsClientsThatFailedTogether) {
  fake_clock clock;
  retry_settings s;
  s.initial_backoff = 1000ms;
  std::set<std::int64_t> seen;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    retry_policy p(s, clock.fn(), seed);
    seen.insert(p.next_delay()->count());
  }
  EXPECT_GT(seen.size(), 10u);
}

TEST(RetryPolicy, StopsWhenTheNextAttemptWouldStartPastTheBudget) {
  fake_clock clock;
  retry_settings s;
  s.initial_backoff = 200ms;
  s.max_backoff = 10s;
  s.budget = 120s;
  retry_policy p(s, clock.fn(), 7);
  int retries = 0;
  while (auto d = p.next_delay()) {
    clock.now += *d + 50ms;  // the attempt itself takes a little
    ++retries;
    ASSERT_LT(retries, 100);
  }
  // Every retry started within the budget, and giving up came within one max delay of it.
  EXPECT_LE(p.elapsed(), 120s + 50ms);
  EXPECT_GE(p.elapsed(), 110s);
  EXPECT_GE(retries, 12);  // far more than "5 attempts in about 1 s"
  EXPECT_EQ(p.attempts(), retries + 1);
  EXPECT_EQ(giving_up_text(p.attempts(), 121'349ms), "giving up after " + std::to_string(retries + 1) +
                                                         " attempts over 121.3 s");
}

TEST(RetryPolicy, ASmallBudgetGivesUpQuickly) {
  fake_clock clock;
  retry_settings s;
  s.initial_backoff = 200ms;
  s.budget = 1s;
  retry_policy p(s, clock.fn(), 1);
  int retries = 0;
  while (auto d = p.next_delay()) {
    clock.now += *d;
    ++retries;
  }
  EXPECT_GE(retries, 2);
  EXPECT_LE(retries, 5);
  EXPECT_LE(p.elapsed(), 1s);
}

TEST(RetryPolicy, AttemptLimitAndZeroBudget) {
  fake_clock clock;
  retry_settings s;
  s.max_attempts = 3;
  retry_policy p(s, clock.fn(), 1);
  EXPECT_TRUE(p.next_delay());
  EXPECT_TRUE(p.next_delay());
  EXPECT_FALSE(p.next_delay());  // the third attempt failed: no fourth
  EXPECT_EQ(p.attempts(), 3);

  retry_settings none;
  none.budget = 0ms;
  retry_policy q(none, clock.fn(), 1);
  EXPECT_FALSE(q.next_delay());
  EXPECT_EQ(giving_up_text(q.attempts(), 0ms), "giving up after 1 attempt over 0.0 s");
}

TEST(RetryPolicy, RetryAfterIsHonouredWithinTheBudget) {
  fake_clock clock;
  retry_settings s;
  s.initial_backoff = 100ms;
  s.budget = 30s;
  retry_policy p(s, clock.fn(), 3);
  EXPECT_EQ(p.next_delay(7s), 7s);            // longer than the back-off: the server wins
  EXPECT_LE(*p.next_delay(1ms), 200ms);       // shorter: the back-off stands
  clock.now += 20s;
  EXPECT_FALSE(p.next_delay(15s));            // would pass the budget: give up now
}

TEST(RetryAfter, SecondsAndHttpDates) {
  const auto now = std::chrono::system_clock::from_time_t(1445412470);  // Wed, 21 Oct 2015 07:27:50 GMT
  EXPECT_EQ(parse_retry_after("3", now), 3s);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 10s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), 0s);
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("-1", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_EQ(parse_retry_after("99999999", now), 86400s);
  // Regression (UBSan): dates the nanosecond clock cannot hold overflowed when converted; they are no advice.
  EXPECT_FALSE(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now));
  EXPECT_FALSE(parse_retry_after("Mon, 01 Jan 1001 00:00:00 GMT", now));
}

}  // namespace
}  // namespace kb::storage
