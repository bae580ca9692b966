// The pure parts of the target checks: the operations a restore needs on a topic it will create
// (Write, Describe) and on topics its group offsets are committed to (Read), read from
// Metadata's authorized-operations bit set; unknown bit sets are not held against the run.
#include "pipeline/restore/target_check.hpp"

#include <gtest/gtest.h>

#include "protocol/metadata.hpp"

namespace kb::pipeline::restore {
namespace {

constexpr std::int32_t read_bit = 1 << 3;
constexpr std::int32_t write_bit = 1 << 4;
constexpr std::int32_t create_bit = 1 << 5;
constexpr std::int32_t describe_bit = 1 << 8;

TEST(target_check, created_topic_needs_write_and_describe) {
  EXPECT_TRUE(check_created_topic_ops("t", write_bit | describe_bit | create_bit));
  EXPECT_TRUE(check_created_topic_ops("t", protocol::authorized_operations_unknown));
  auto no_write = check_created_topic_ops("t", describe_bit | create_bit);
  ASSERT_FALSE(no_write);
  EXPECT_TRUE(no_write.error().is(errc::authorization));
  EXPECT_NE(no_write.error().message.find("Not authorized to access topic 't'"), std::string::npos);
  EXPECT_NE(no_write.error().message.find("lacks Write"), std::string::npos) << no_write.error().message;
  auto no_describe = check_created_topic_ops("t", write_bit | create_bit);
  ASSERT_FALSE(no_describe);
  EXPECT_NE(no_describe.error().message.find("lacks Describe"), std::string::npos) << no_describe.error().message;
}

TEST(target_check, committing_group_offsets_needs_read_on_each_target_topic) {
  std::vector<planned_group_offset> offsets(1);
  offsets[0].group = "billing";
  offsets[0].target_topic = "orders-r";
  const std::int32_t writer = write_bit | describe_bit | create_bit;
  EXPECT_TRUE(check_commit_read(offsets, {{"orders-r", writer | read_bit}}));
  EXPECT_TRUE(check_commit_read(offsets, {{"other", writer}}));  // not a committed topic
  EXPECT_TRUE(check_commit_read(offsets, {{"orders-r", protocol::authorized_operations_unknown}}));
  auto r = check_commit_read(offsets, {{"orders-r", writer}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::authorization));
  EXPECT_NE(r.error().message.find("committing the offsets of group 'billing' needs Read on the topic"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("--operation Read --topic orders-r"), std::string::npos) << r.error().message;
}

TEST(target_check, configs_a_4x_broker_refuses_are_not_sent) {
  EXPECT_FALSE(creatable_config("message.format.version"));
  EXPECT_TRUE(creatable_config("retention.ms"));
}

}  // namespace
}  // namespace kb::pipeline::restore
