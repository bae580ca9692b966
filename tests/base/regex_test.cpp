// Unit tests for base/regex: patterns compile as ECMAScript, and numbers libstdc++ would overflow are refused.
#include "base/regex.hpp"

#include <gtest/gtest.h>

namespace kb {
namespace {

TEST(compile_regex, ordinary_topic_patterns_compile_and_match) {
  auto re = compile_regex("orders-(eu|us)-[0-9]{2,4}");
  ASSERT_TRUE(re) << re.error().message;
  EXPECT_TRUE(std::regex_match("orders-eu-2026", *re));
  EXPECT_FALSE(std::regex_match("orders-asia-2026", *re));
  auto backref = compile_regex("(a)\\1{0,1000}");  // the largest numbers allowed
  ASSERT_TRUE(backref) << backref.error().message;
  EXPECT_TRUE(std::regex_match("aa", *backref));
  EXPECT_TRUE(compile_regex("events-20261207123456"));  // long digit runs as text are fine
  EXPECT_TRUE(compile_regex("a\\{99999999999\\}"));      // escaped braces are text too
}

TEST(compile_regex, malformed_patterns_are_config_errors) {
  auto r = compile_regex("orders-(eu");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::config));
}

// Regression (libFuzzer + UBSan on cli/fuzz_config): libstdc++ 12 reads these numbers into a long
// with a signed overflow; they are refused before std::regex sees them.
TEST(compile_regex, numbers_beyond_the_limit_are_refused_with_the_reason) {
  for (const char* p : {"x\\8888888888888888888888", "a{1001}", "a{2,99999999999999999999}", "a{99999999999999999999,}",
                        "[\\8888888888888888888]"}) {
    auto r = compile_regex(p);
    ASSERT_FALSE(r) << p;
    EXPECT_TRUE(r.error().is(errc::config)) << p;
    EXPECT_NE(r.error().message.find("is above 1000"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace kb
