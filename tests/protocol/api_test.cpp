#include "protocol/api.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/header.hpp"

namespace kb::protocol {
namespace {

using k = api_key;

// ApiVersions ranges as advertised by an Apache Kafka 2.1 broker (ApiKeys in the 2.1 release:
// Produce 0-7, Fetch 0-10, ListOffsets 0-4, Metadata 0-7, OffsetCommit 0-6, OffsetFetch 0-5,
// FindCoordinator 0-2, DescribeGroups 0-2, ListGroups 0-2, SaslHandshake 0-1, ApiVersions 0-2,
// CreateTopics 0-3, DeleteRecords 0-1, InitProducerId 0-1, DescribeConfigs 0-2,
// SaslAuthenticate 0-0), plus broker-internal APIs we do not use.
std::vector<api_version_range> kafka_2_1() {
  return {{0, 0, 7},  {1, 0, 10}, {2, 0, 4},  {3, 0, 7},  {4, 0, 1},  {5, 0, 0},  {6, 0, 4},
          {7, 0, 1},  {8, 0, 6},  {9, 0, 5},  {10, 0, 2}, {11, 0, 3}, {12, 0, 2}, {13, 0, 2},
          {14, 0, 2}, {15, 0, 2}, {16, 0, 2}, {17, 0, 1}, {18, 0, 2}, {19, 0, 3}, {20, 0, 2},
          {21, 0, 1}, {22, 0, 1}, {32, 0, 2}, {36, 0, 0}};
}

// Ranges of an Apache Kafka 4.0 broker (KIP-896 removed Produce 0-2, Fetch 0-3, ListOffsets 0,
// OffsetCommit 0-1, OffsetFetch 0, CreateTopics 0-1, DescribeConfigs 0).
std::vector<api_version_range> kafka_4_0() {
  return {{0, 3, 12}, {1, 4, 17}, {2, 1, 10}, {3, 0, 13}, {8, 2, 9},  {9, 1, 9},
          {10, 0, 6}, {11, 0, 9}, {12, 0, 4}, {13, 0, 5}, {14, 0, 5}, {15, 0, 6}, {16, 0, 5},
          {17, 0, 1}, {18, 0, 4}, {19, 2, 7}, {21, 0, 2}, {22, 0, 5}, {32, 1, 4}, {36, 0, 2}, {68, 0, 1}};
}

TEST(api_negotiate, kafka_2_1_broker_gets_its_maximum_everywhere) {
  auto table = negotiate(kafka_2_1());
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(*table->get(k::produce), 7);
  EXPECT_EQ(*table->get(k::fetch), 10);
  EXPECT_EQ(*table->get(k::list_offsets), 4);
  EXPECT_EQ(*table->get(k::metadata), 7);
  EXPECT_EQ(*table->get(k::offset_commit), 6);
  EXPECT_EQ(*table->get(k::offset_fetch), 5);
  EXPECT_EQ(*table->get(k::find_coordinator), 2);
  EXPECT_EQ(*table->get(k::api_versions), 2);
  EXPECT_EQ(*table->get(k::sasl_authenticate), 0);
  EXPECT_EQ(*table->get(k::create_topics), 3);
  EXPECT_EQ(*table->get(k::describe_configs), 2);
  EXPECT_EQ(*table->get(k::init_producer_id), 1);
  EXPECT_EQ(*table->get(k::delete_records), 1);
  EXPECT_EQ(*table->get(k::join_group), 3);  // group membership (scale-out workers)
  EXPECT_EQ(*table->get(k::heartbeat), 2);
  EXPECT_EQ(*table->get(k::leave_group), 2);
  EXPECT_EQ(*table->get(k::sync_group), 2);
}

TEST(api_negotiate, kafka_4_0_broker_gets_our_maximum_where_it_is_lower) {
  auto table = negotiate(kafka_4_0());
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(*table->get(k::produce), 12);
  EXPECT_EQ(*table->get(k::fetch), 17);
  EXPECT_EQ(*table->get(k::list_offsets), 9);  // broker 10, we stop at 9
  EXPECT_EQ(*table->get(k::metadata), 13);
  EXPECT_EQ(*table->get(k::describe_groups), 5);  // broker 6
  EXPECT_EQ(*table->get(k::join_group), 9);
  EXPECT_EQ(*table->get(k::heartbeat), 4);
  EXPECT_EQ(*table->get(k::leave_group), 5);
  EXPECT_EQ(*table->get(k::sync_group), 5);
  EXPECT_EQ(*table->get(k::sasl_authenticate), 2);
  EXPECT_EQ(*table->get(k::api_versions), 4);
}

TEST(api_negotiate, no_overlap_is_an_error_naming_the_api) {
  std::vector<api_version_range> ranges = kafka_4_0();
  for (auto& r : ranges)
    if (r.api_key == 1) r = {1, 18, 20};  // a hypothetical broker that dropped Fetch < 18
  auto table = negotiate(ranges);
  ASSERT_FALSE(table);
  EXPECT_TRUE(table.error().is(errc::unsupported));
  EXPECT_NE(table.error().message.find("Fetch"), std::string::npos);
  EXPECT_NE(table.error().message.find("18..20"), std::string::npos);
}

TEST(api_negotiate, missing_admin_api_only_fails_when_used) {
  std::vector<api_version_range> ranges;
  for (const auto& r : kafka_4_0())
    if (r.api_key != 21) ranges.push_back(r);  // no DeleteRecords
  auto table = negotiate(ranges);
  ASSERT_TRUE(table) << table.error().message;
  auto dr = table->get(k::delete_records);
  ASSERT_FALSE(dr);
  EXPECT_NE(dr.error().message.find("DeleteRecords"), std::string::npos);
  const api_key need[] = {k::delete_records};
  EXPECT_FALSE(negotiate(ranges, need));
}

TEST(api_table, ranges_are_consistent) {
  for (const auto& s : supported_apis) {
    EXPECT_LE(s.min_version, s.max_version) << s.name;
    EXPECT_EQ(find_support(s.key), &s);
    EXPECT_EQ(name(s.key), s.name);
  }
  // Flexible versions per Apache's schemas (flexibleVersions).
  EXPECT_FALSE(is_flexible(k::fetch, 11));
  EXPECT_TRUE(is_flexible(k::fetch, 12));
  EXPECT_TRUE(is_flexible(k::metadata, 9));
  EXPECT_FALSE(is_flexible(k::produce, 8));
  EXPECT_TRUE(is_flexible(k::produce, 9));
  EXPECT_FALSE(is_flexible(k::sasl_handshake, 1));
}

TEST(api_table, header_versions_follow_flexibility_except_api_versions_response) {
  EXPECT_EQ(request_header_version(k::fetch, 11), 1);
  EXPECT_EQ(request_header_version(k::fetch, 12), 2);
  EXPECT_EQ(response_header_version(k::fetch, 11), 0);
  EXPECT_EQ(response_header_version(k::fetch, 12), 1);
  EXPECT_EQ(request_header_version(k::api_versions, 3), 2);
  EXPECT_EQ(response_header_version(k::api_versions, 3), 0);  // KIP-511
}

}  // namespace
}  // namespace kb::protocol
