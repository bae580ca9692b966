// Kafka's topic name rule: the legal names pass, every kind of illegal one is named with why.
#include "protocol/topic_name.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::protocol {
namespace {

using ::testing::HasSubstr;

TEST(topic_name, legal_names_pass) {
  for (const std::string name : {"orders", "orders-restored", "a", "A.b_c-9", "__consumer_offsets", "..a", "..."}) {
    EXPECT_EQ(topic_name_problem(name), std::nullopt) << name;
  }
  EXPECT_EQ(topic_name_problem(std::string(249, 'x')), std::nullopt);
}

TEST(topic_name, illegal_names_say_why) {
  EXPECT_THAT(topic_name_problem("").value_or(""), HasSubstr("empty"));
  EXPECT_THAT(topic_name_problem(".").value_or(""), HasSubstr("reserved"));
  EXPECT_THAT(topic_name_problem("..").value_or(""), HasSubstr("reserved"));
  EXPECT_THAT(topic_name_problem(std::string(250, 'x')).value_or(""), HasSubstr("250 characters long, at most 249"));
  EXPECT_THAT(topic_name_problem("orders restored").value_or(""), HasSubstr("0x20 at position 7"));
  EXPECT_THAT(topic_name_problem("orders/eu").value_or(""), HasSubstr("'/' at position 7"));
  EXPECT_THAT(topic_name_problem("ordérs").value_or(""), HasSubstr("0xc3 at position 4"));
  EXPECT_THAT(topic_name_problem("a:b").value_or(""), HasSubstr("letters, digits, '.', '_' and '-'"));
}

}  // namespace
}  // namespace kb::protocol
