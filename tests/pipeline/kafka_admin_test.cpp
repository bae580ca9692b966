// kafka_admin's pure parts: the one classification, the retry delays, ListOffsets request and
// answer handling, FindCoordinator answer reading (no broker).
#include "pipeline/kafka_admin.hpp"

#include <gtest/gtest.h>

#include "protocol/error_codes.hpp"

namespace kb::pipeline {
namespace {

using protocol::error_code;
using namespace std::chrono_literals;

std::int16_t raw(error_code c) { return static_cast<std::int16_t>(c); }

TEST(kafka_admin, one_classification_of_broker_codes) {
  EXPECT_EQ(classify_admin_error(0), admin_action::ok);
  EXPECT_EQ(classify_admin_error(raw(error_code::not_leader_or_follower)), admin_action::retry);
  EXPECT_EQ(classify_admin_error(raw(error_code::leader_not_available)), admin_action::retry);
  EXPECT_EQ(classify_admin_error(raw(error_code::unknown_topic_or_partition)), admin_action::retry);
  EXPECT_EQ(classify_admin_error(raw(error_code::coordinator_load_in_progress)), admin_action::retry);
  EXPECT_EQ(classify_admin_error(raw(error_code::not_coordinator)), admin_action::retry);
  EXPECT_EQ(classify_admin_error(raw(error_code::topic_authorization_failed)), admin_action::fail_authorization);
  EXPECT_EQ(classify_admin_error(raw(error_code::group_authorization_failed)), admin_action::fail_authorization);
  EXPECT_EQ(classify_admin_error(raw(error_code::unsupported_version)), admin_action::fail);
  EXPECT_EQ(classify_admin_error(raw(error_code::invalid_request)), admin_action::fail);
}

TEST(kafka_admin, transport_errors_that_are_retried) {
  EXPECT_TRUE(is_retriable_transport(error{make_error_code(errc::connect), "lost"}));
  EXPECT_TRUE(is_retriable_transport(error{make_error_code(errc::timeout), "slow"}));
  EXPECT_FALSE(is_retriable_transport(error{make_error_code(errc::tls), "bad cert"}));
  EXPECT_FALSE(is_retriable_transport(error{make_error_code(errc::sasl), "bad password"}));
  EXPECT_FALSE(is_retriable_transport(error{make_error_code(errc::authorization), "denied"}));
}

TEST(kafka_admin, exponential_delay_doubles_and_is_capped) {
  const admin_retry r{8, 100ms, 5'000ms, true};
  EXPECT_EQ(r.delay(0), 0ms);
  EXPECT_EQ(r.delay(1), 200ms);
  EXPECT_EQ(r.delay(2), 400ms);
  EXPECT_EQ(r.delay(5), 3'200ms);
  EXPECT_EQ(r.delay(6), 5'000ms);
  EXPECT_EQ(r.delay(60), 5'000ms);  // no overflow for long waits
  const admin_retry fixed{240, 250ms, 5'000ms, false};
  EXPECT_EQ(fixed.delay(1), 250ms);
  EXPECT_EQ(fixed.delay(200), 250ms);
}

TEST(kafka_admin, list_offsets_request_groups_partitions_by_topic) {
  const auto req = make_list_offsets_request({{"a", 0}, {"a", 2}, {"b", 1}}, protocol::earliest_timestamp);
  ASSERT_EQ(req.topics.size(), 2u);
  EXPECT_EQ(req.topics[0].name, "a");
  ASSERT_EQ(req.topics[0].partitions.size(), 2u);
  EXPECT_EQ(req.topics[0].partitions[1].partition_index, 2);
  EXPECT_EQ(req.topics[0].partitions[1].timestamp, protocol::earliest_timestamp);
  EXPECT_EQ(req.topics[0].partitions[1].current_leader_epoch, -1);
  EXPECT_EQ(req.topics[1].name, "b");
}

protocol::list_offsets_response answer(std::vector<std::tuple<std::string, std::int32_t, std::int16_t, std::int64_t>> rows) {
  protocol::list_offsets_response r;
  for (const auto& [t, p, code, off] : rows) {
    if (r.topics.empty() || r.topics.back().name != t) r.topics.push_back({t, {}});
    protocol::list_offsets_response::partition part;
    part.partition_index = p;
    part.error_code = code;
    part.offset = off;
    r.topics.back().partitions.push_back(part);
  }
  return r;
}

TEST(kafka_admin, answers_are_taken_retriable_codes_and_missing_partitions_retried) {
  const std::vector<net::topic_partition> asked{{"a", 0}, {"a", 1}, {"a", 2}};
  offset_map out;
  std::vector<net::topic_partition> retry;
  std::string last;
  auto r = absorb_list_offsets(answer({{"a", 0, 0, 42}, {"a", 1, raw(error_code::not_leader_or_follower), -1},
                                       {"z", 9, 0, 7}}),
                               asked, "", out, retry, last);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out.size(), 1u);  // the unasked z-9 is not taken
  EXPECT_EQ(out.at({"a", 0}), 42);
  EXPECT_EQ(retry, (std::vector<net::topic_partition>{{"a", 1}, {"a", 2}}));
  EXPECT_EQ(last, "no answer for the partition");
}

TEST(kafka_admin, authorization_fails_at_once_naming_topic_and_principal) {
  offset_map out;
  std::vector<net::topic_partition> retry;
  std::string last;
  auto r = absorb_list_offsets(answer({{"secret", 0, raw(error_code::topic_authorization_failed), -1}}),
                               {{"secret", 0}}, "User:backup", out, retry, last);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::authorization));
  EXPECT_NE(r.error().message.find("'secret'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("User:backup"), std::string::npos) << r.error().message;
}

TEST(kafka_admin, a_fatal_code_fails_as_broker_error) {
  offset_map out;
  std::vector<net::topic_partition> retry;
  std::string last;
  auto r = absorb_list_offsets(answer({{"t", 0, raw(error_code::unsupported_version), -1}}), {{"t", 0}}, "", out,
                               retry, last);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::broker));
  EXPECT_TRUE(retry.empty());
}

TEST(kafka_admin, coordinator_read_from_v4_list_or_flat_fields) {
  protocol::find_coordinator_response flat;
  flat.node_id = 3;
  flat.error_code = 0;
  EXPECT_EQ(read_coordinator(flat).node, 3);
  protocol::find_coordinator_response v4;
  v4.coordinators.push_back({"g", 7, "h", 9092, raw(error_code::coordinator_not_available), "loading"});
  const auto a = read_coordinator(v4);
  EXPECT_EQ(a.node, 7);
  EXPECT_EQ(a.error_code, raw(error_code::coordinator_not_available));
  EXPECT_EQ(a.error_message, "loading");
  const auto req = make_find_coordinator_request("g1");
  EXPECT_EQ(req.key_value, "g1");
  EXPECT_EQ(req.key_type, 0);
  EXPECT_EQ(req.coordinator_keys, std::vector<std::string>{"g1"});
}

TEST(kafka_admin, principal_hint_names_the_sasl_user_only) {
  net::connection_options c;
  EXPECT_EQ(principal_hint(c), "");
  c.sasl.username = "backup";
  EXPECT_EQ(principal_hint(c), "");  // PLAINTEXT: the name is not used
  c.protocol = net::security_protocol::sasl_ssl;
  EXPECT_EQ(principal_hint(c), "User:backup");
}

}  // namespace
}  // namespace kb::pipeline
