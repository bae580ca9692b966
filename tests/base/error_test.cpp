#include "base/error.hpp"

#include <gtest/gtest.h>

namespace kb {
namespace {

result<int> half(int value) {
  if (value % 2 != 0) return fail(errc::invalid_argument, "odd value");
  return value / 2;
}

TEST(error, result_carries_value_or_error) {
  ASSERT_TRUE(half(8).has_value());
  EXPECT_EQ(*half(8), 4);
  const auto odd = half(3);
  ASSERT_FALSE(odd.has_value());
  EXPECT_TRUE(odd.error().is(errc::invalid_argument));
  EXPECT_EQ(odd.error().message, "odd value");
}

TEST(error, exit_codes_follow_design) {
  EXPECT_EQ(exit_code_for({make_error_code(errc::config), ""}), exit_code::usage);
  EXPECT_EQ(exit_code_for({make_error_code(errc::invalid_argument), ""}), exit_code::usage);
  EXPECT_EQ(exit_code_for({make_error_code(errc::tls), ""}), exit_code::access);
  EXPECT_EQ(exit_code_for({make_error_code(errc::sasl), ""}), exit_code::access);
  EXPECT_EQ(exit_code_for({make_error_code(errc::authorization), ""}), exit_code::access);
  EXPECT_EQ(exit_code_for({make_error_code(errc::connect), ""}), exit_code::access);
  EXPECT_EQ(exit_code_for({make_error_code(errc::corrupt), ""}), exit_code::integrity);
  EXPECT_EQ(exit_code_for({make_error_code(errc::io), ""}), exit_code::runtime);
  EXPECT_EQ(exit_code_for({std::make_error_code(std::errc::io_error), ""}), exit_code::runtime);
}

TEST(error, category_messages_carry_documented_phrases) {
  EXPECT_EQ(make_error_code(errc::tls).message(), "SSL handshake failed");
  EXPECT_EQ(make_error_code(errc::sasl).message(), "SASL authentication failed");
}

}  // namespace
}  // namespace kb
