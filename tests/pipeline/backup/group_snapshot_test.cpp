// Unit tests of how a group snapshot treats group-level errors and the ACL hint it prints.
#include "pipeline/backup/group_snapshot.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol/error_codes.hpp"

namespace kb::pipeline::backup {
namespace {

using ::testing::HasSubstr;

std::int16_t code(protocol::error_code c) { return static_cast<std::int16_t>(c); }

TEST(group_snapshot, loading_or_moved_coordinators_are_retried) {
  EXPECT_EQ(classify_group_error(code(protocol::error_code::coordinator_load_in_progress)), group_error_action::retry);
  EXPECT_EQ(classify_group_error(code(protocol::error_code::coordinator_not_available)), group_error_action::retry);
  EXPECT_EQ(classify_group_error(code(protocol::error_code::not_coordinator)), group_error_action::retry);
}

TEST(group_snapshot, authorization_and_other_errors_are_not_dropped) {
  EXPECT_EQ(classify_group_error(0), group_error_action::ok);
  EXPECT_EQ(classify_group_error(code(protocol::error_code::group_authorization_failed)),
            group_error_action::missing_acl);
  EXPECT_EQ(classify_group_error(code(protocol::error_code::group_id_not_found)), group_error_action::gone);
  EXPECT_EQ(classify_group_error(-1), group_error_action::failed);  // UNKNOWN_SERVER_ERROR
}

TEST(group_snapshot, acl_hint_is_a_complete_kafka_acls_command) {
  const auto cmd = group_acl_command("User:backup", "billing", "127.0.0.1:9092");
  EXPECT_THAT(cmd, HasSubstr("kafka-acls.sh --bootstrap-server 127.0.0.1:9092"));
  EXPECT_THAT(cmd, HasSubstr("--allow-principal User:backup --operation Describe --group 'billing'"));
  EXPECT_THAT(group_acl_command("", "*", ""), HasSubstr("--allow-principal User:<the backup's principal>"));
}

}  // namespace
}  // namespace kb::pipeline::backup
