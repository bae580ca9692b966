// job_status (pure): the first error is kept and every one counted, stopping begins once, and the
// "still stopping" report comes every interval, counted from when stopping began.
#include "pipeline/backup/job_status.hpp"

#include <gtest/gtest.h>

namespace kb::pipeline::backup {
namespace {

using namespace std::chrono_literals;
using clock_type = job_status::clock;

TEST(job_status, keeps_the_first_error_and_counts_all) {
  job_status s;
  const auto t0 = clock_type::time_point{} + 100s;
  EXPECT_FALSE(s.stopping());
  EXPECT_TRUE(s.record(error{make_error_code(errc::io), "first"}, t0));
  EXPECT_FALSE(s.record(error{make_error_code(errc::io), "second"}, t0 + 1s));
  s.count_error();
  EXPECT_TRUE(s.stopping());
  ASSERT_TRUE(s.first_error().has_value());
  EXPECT_EQ(s.first_error()->message, "first");
  EXPECT_EQ(s.errors(), 3u);
}

TEST(job_status, a_handled_error_does_not_stop) {
  job_status s;
  s.count_error();
  EXPECT_FALSE(s.stopping());
  EXPECT_FALSE(s.first_error().has_value());
  EXPECT_FALSE(s.stop_report_due(clock_type::time_point{} + 1h, 10s));
}

TEST(job_status, stop_reports_count_from_when_stopping_began) {
  job_status s;
  const auto t0 = clock_type::time_point{} + 1000s;
  s.begin_stopping(t0);
  s.begin_stopping(t0 + 5s);  // again: the start stays
  EXPECT_FALSE(s.stop_report_due(t0 + 9s, 10s));
  auto first = s.stop_report_due(t0 + 10s, 10s);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 10s);
  EXPECT_FALSE(s.stop_report_due(t0 + 15s, 10s));
  auto second = s.stop_report_due(t0 + 21s, 10s);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, 21s);
}

TEST(job_status, an_error_after_a_stop_request_keeps_the_start) {
  // issue #12 item 1: the report once counted from the clock's epoch after an error.
  job_status s;
  const auto t0 = clock_type::time_point{} + 1000s;
  s.record(error{make_error_code(errc::io), "lost"}, t0);
  s.begin_stopping(t0 + 3s);
  auto due = s.stop_report_due(t0 + 10s, 10s);
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, 10s);
}

}  // namespace
}  // namespace kb::pipeline::backup
