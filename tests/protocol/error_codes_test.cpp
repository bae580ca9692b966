#include "protocol/error_codes.hpp"

#include <gtest/gtest.h>

namespace kb::protocol {
namespace {

// Numbers and names from Apache Kafka's Errors.java.
TEST(error_codes, names_match_apache_numbering) {
  EXPECT_EQ(name(static_cast<error_code>(-1)), "UNKNOWN_SERVER_ERROR");
  EXPECT_EQ(name(static_cast<error_code>(0)), "NONE");
  EXPECT_EQ(name(static_cast<error_code>(1)), "OFFSET_OUT_OF_RANGE");
  EXPECT_EQ(name(static_cast<error_code>(6)), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_EQ(name(static_cast<error_code>(29)), "TOPIC_AUTHORIZATION_FAILED");
  EXPECT_EQ(name(static_cast<error_code>(35)), "UNSUPPORTED_VERSION");
  EXPECT_EQ(name(static_cast<error_code>(58)), "SASL_AUTHENTICATION_FAILED");
  EXPECT_EQ(name(static_cast<error_code>(74)), "FENCED_LEADER_EPOCH");
  EXPECT_EQ(name(static_cast<error_code>(100)), "UNKNOWN_TOPIC_ID");
  EXPECT_EQ(name(static_cast<error_code>(120)), "TRANSACTION_ABORTABLE");
  EXPECT_EQ(name(static_cast<error_code>(5000)), "UNKNOWN_ERROR_CODE");
}

TEST(error_codes, std_error_code_integration) {
  const std::error_code ec = error_code::not_coordinator;
  EXPECT_EQ(ec.value(), 16);
  EXPECT_STREQ(ec.category().name(), "kafka");
  EXPECT_EQ(ec.message(), "NOT_COORDINATOR");
}

struct case_row {
  std::int16_t code;
  error_class expected;
};

TEST(error_codes, classification_table) {
  const case_row rows[] = {
      {0, error_class::none},
      {6, error_class::refresh_metadata},   // NOT_LEADER_OR_FOLLOWER
      {3, error_class::refresh_metadata},   // UNKNOWN_TOPIC_OR_PARTITION
      {74, error_class::refresh_metadata},  // FENCED_LEADER_EPOCH
      {75, error_class::refresh_metadata},  // UNKNOWN_LEADER_EPOCH
      {5, error_class::refresh_metadata},   // LEADER_NOT_AVAILABLE
      {29, error_class::authorization},     // TOPIC_AUTHORIZATION_FAILED
      {30, error_class::authorization},     // GROUP_AUTHORIZATION_FAILED
      {31, error_class::authorization},     // CLUSTER_AUTHORIZATION_FAILED
      {53, error_class::authorization},     // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      {7, error_class::retriable},          // REQUEST_TIMED_OUT
      {19, error_class::retriable},         // NOT_ENOUGH_REPLICAS
      {20, error_class::retriable},         // NOT_ENOUGH_REPLICAS_AFTER_APPEND
      {14, error_class::retriable},         // COORDINATOR_LOAD_IN_PROGRESS
      {89, error_class::retriable},         // THROTTLING_QUOTA_EXCEEDED
      {15, error_class::find_coordinator},  // COORDINATOR_NOT_AVAILABLE
      {16, error_class::find_coordinator},  // NOT_COORDINATOR
      {22, error_class::rejoin_group},      // ILLEGAL_GENERATION
      {25, error_class::rejoin_group},      // UNKNOWN_MEMBER_ID
      {79, error_class::rejoin_group},      // MEMBER_ID_REQUIRED
      {27, error_class::retriable},         // REBALANCE_IN_PROGRESS (a member rejoins on it)
      {82, error_class::fatal},             // FENCED_INSTANCE_ID (another process has our instance id)
      {1, error_class::offset_out_of_range},
      {58, error_class::authentication},    // SASL_AUTHENTICATION_FAILED
      {35, error_class::unsupported},       // UNSUPPORTED_VERSION
      {10, error_class::fatal},             // MESSAGE_TOO_LARGE
      {36, error_class::fatal},             // TOPIC_ALREADY_EXISTS
      {-1, error_class::fatal},             // UNKNOWN_SERVER_ERROR
      {9999, error_class::fatal},           // from a future broker
  };
  for (const auto& row : rows)
    EXPECT_EQ(classify(row.code), row.expected)
        << row.code << " " << name(static_cast<error_code>(row.code)) << " got "
        << name(classify(row.code));
}

}  // namespace
}  // namespace kb::protocol
