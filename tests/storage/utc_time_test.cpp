// Unit tests for storage/utc_time: ISO 8601 stamps and broken-down times as clock values, and what is refused.
#include "storage/utc_time.hpp"

#include <gtest/gtest.h>

namespace kb::storage {
namespace {

using namespace std::chrono_literals;

std::time_t seconds_of(std::chrono::system_clock::time_point t) { return std::chrono::system_clock::to_time_t(t); }

TEST(UtcTime, Iso8601StampsAsAwsAndS3SendThem) {
  const auto t = parse_iso8601_utc("2026-12-06T19:40:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(seconds_of(*t), 1796586000);  // date -u -d 2026-12-06T19:40:00Z +%s
  EXPECT_EQ(parse_iso8601_utc("2026-12-06T19:40:00+00:00"), t);
  EXPECT_EQ(parse_iso8601_utc("2026-12-06T19:40:00.5Z"), *t + 500ms);
  EXPECT_EQ(parse_iso8601_utc("2026-12-06T19:40:00.123456Z"), *t + 123ms);
  EXPECT_EQ(seconds_of(*parse_iso8601_utc("1970-01-01T00:00:00Z")), 0);
  EXPECT_EQ(seconds_of(*parse_iso8601_utc("2200-12-31T23:59:59Z")), 7289654399);
}

TEST(UtcTime, Iso8601ShapesOtherThanUtcAreRefused) {
  for (const char* text : {"", "yesterday", "2026-12-06", "2026-12-06T19:40:00", "2026-12-06T19:40:00+02:00",
                           "2026-12-06T19:40:00.Z", "2026-12-06 19:40:00Z", "+026-12-06T19:40:00Z",
                           " 2026-12-06T19:40:00Z", "2026-12-06T19:40:00Zjunk", "2026-1-06T19:40:00Z"}) {
    EXPECT_FALSE(parse_iso8601_utc(text)) << '"' << text << '"';
  }
}

// The corpus input that UBSan caught: year 204 overflowed the nanosecond clock.
TEST(UtcTime, YearsOutsideTheServerRangeAreRefused) {
  for (const char* text : {"0204-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2201-01-01T00:00:00Z",
                           "9999-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_iso8601_utc(text)) << text;
  }
}

TEST(UtcTime, FieldsOutOfRangeAreRefusedNotNormalised) {
  for (const char* text : {"2026-00-10T00:00:00Z", "2026-13-10T00:00:00Z", "2026-02-29T00:00:00Z",
                           "2026-04-31T00:00:00Z", "2026-12-00T00:00:00Z", "2026-12-06T24:00:00Z",
                           "2026-12-06T23:60:00Z", "2026-12-06T23:59:61Z"}) {
    EXPECT_FALSE(parse_iso8601_utc(text)) << text;
  }
  EXPECT_TRUE(parse_iso8601_utc("2028-02-29T00:00:00Z"));  // a leap year
  EXPECT_TRUE(parse_iso8601_utc("2000-02-29T00:00:00Z"));  // divisible by 400
  EXPECT_FALSE(parse_iso8601_utc("2100-02-29T00:00:00Z"));  // divisible by 100 only
}

TEST(UtcTime, BrokenDownTimes) {
  std::tm tm{};
  tm.tm_year = 2015 - 1900;
  tm.tm_mon = 9;
  tm.tm_mday = 21;
  tm.tm_hour = 7;
  tm.tm_min = 28;
  const auto t = utc_time_point(tm);
  ASSERT_TRUE(t);
  EXPECT_EQ(seconds_of(*t), 1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  tm.tm_year = 10000 - 1900;
  EXPECT_FALSE(utc_time_point(tm));
  tm.tm_year = -1900;
  EXPECT_FALSE(utc_time_point(tm));
}

}  // namespace
}  // namespace kb::storage
