#include "base/log.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

namespace kb::log {
namespace {

TEST(log, parses_levels_and_formats) {
  level lvl = level::info;
  EXPECT_TRUE(parse_level("debug", lvl));
  EXPECT_EQ(lvl, level::debug);
  EXPECT_FALSE(parse_level("verbose", lvl));
  format fmt = format::text;
  EXPECT_TRUE(parse_format("json", fmt));
  EXPECT_EQ(fmt, format::json);
  EXPECT_FALSE(parse_format("xml", fmt));
}

TEST(log, level_filter) {
  set_level(level::warn);
  EXPECT_TRUE(enabled(level::error));
  EXPECT_TRUE(enabled(level::warn));
  EXPECT_FALSE(enabled(level::info));
  set_level(level::info);
}

TEST(log, json_escape_handles_quotes_and_controls) {
  EXPECT_EQ(json_escape(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(json_escape("x\ny\t\x01"), "x\\ny\\t\\u0001");
}

TEST(log, first_time_is_true_once_per_key) {
  EXPECT_TRUE(first_time("log_test.key-a"));
  EXPECT_FALSE(first_time("log_test.key-a"));
  EXPECT_FALSE(first_time("log_test.key-a"));
  EXPECT_TRUE(first_time("log_test.key-b"));
}

TEST(log, warn_once_writes_one_line_per_key) {
  testing::internal::CaptureStderr();
  for (int i = 0; i < 5; ++i) warn_once("log_test.warn", "repeated warning {}", i);
  warn_once("log_test.other", "another warning");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_NE(out.find("repeated warning 0"), std::string::npos) << out;
  EXPECT_EQ(out.find("repeated warning 1"), std::string::npos) << out;
  EXPECT_NE(out.find("another warning"), std::string::npos) << out;
}

}  // namespace
}  // namespace kb::log
