#include "base/log.hpp"

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

}  // namespace
}  // namespace kb::log
