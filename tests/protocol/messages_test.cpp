// Round trips of every message at every version we speak, golden bytes for Fetch written by
// hand from FetchResponse.json, and truncation checks.
#include "protocol/api_versions.hpp"

#include <gtest/gtest.h>

#include "protocol/create_topics.hpp"
#include "protocol/delete_records.hpp"
#include "protocol/describe_configs.hpp"
#include "protocol/describe_groups.hpp"
#include "protocol/fetch.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/header.hpp"
#include "protocol/init_producer_id.hpp"
#include "protocol/list_groups.hpp"
#include "protocol/list_offsets.hpp"
#include "protocol/metadata.hpp"
#include "protocol/offset_commit.hpp"
#include "protocol/offset_fetch.hpp"
#include "protocol/produce.hpp"
#include "protocol/sasl_authenticate.hpp"
#include "protocol/sasl_handshake.hpp"

namespace kb::protocol {
namespace {

byte_vector encode_at(const auto& msg, std::int16_t v) {
  writer w;
  msg.encode(w, v);
  return w.take();
}

/// encode -> decode -> encode at every supported version: the decoder consumes exactly what the
/// encoder wrote and loses nothing. Every strict prefix must fail with need_more. `check` sees
/// each decoded message for field-level assertions.
template <class M, class Check>
void round_trip(const M& msg, Check&& check) {
  const api_support* s = find_support(M::key);
  ASSERT_NE(s, nullptr);
  for (std::int16_t v = s->min_version; v <= s->max_version; ++v) {
    SCOPED_TRACE(testing::Message() << s->name << " v" << v);
    const byte_vector first = encode_at(msg, v);
    reader r{shared_bytes(first)};
    auto back = M::decode(r, v);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_EQ(encode_at(*back, v), first);
    check(*back, v);
    for (std::size_t cut = 0; cut < first.size(); cut += 1 + first.size() / 40) {
      reader partial{shared_bytes(byte_vector(first.begin(), first.begin() + static_cast<long>(cut)))};
      auto broken = M::decode(partial, v);
      ASSERT_FALSE(broken) << "prefix of " << cut << " bytes decoded";
      EXPECT_EQ(broken.error().code, make_error_code(wire_errc::need_more));
    }
  }
}
template <class M>
void round_trip(const M& msg) {
  round_trip(msg, [](const M&, std::int16_t) {});
}

uuid some_uuid(std::uint8_t seed) {
  uuid id;
  for (std::size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<std::uint8_t>(seed + i);
  return id;
}

TEST(messages_round_trip, api_versions) {
  api_versions_request req{"kafka-backup", "0.1.0"};
  round_trip(req, [](const api_versions_request& m, std::int16_t v) {
    EXPECT_EQ(m.client_software_name, v >= 3 ? "kafka-backup" : "");
  });
  api_versions_response resp;
  resp.error_code = 0;
  resp.api_keys = {{1, 4, 17}, {3, 0, 13}};
  resp.throttle_time_ms = 12;
  resp.supported_features = {{"metadata.version", 1, 25}};
  resp.finalized_features_epoch = 7;
  resp.finalized_features = {{"metadata.version", 25, 1}};
  resp.zk_migration_ready = true;
  round_trip(resp, [](const api_versions_response& m, std::int16_t v) {
    ASSERT_EQ(m.api_keys.size(), 2u);
    EXPECT_EQ(m.api_keys[1].max_version, 13);
    EXPECT_EQ(m.finalized_features_epoch.has_value(), v >= 3);
    EXPECT_EQ(m.supported_features.size(), v >= 3 ? 1u : 0u);
  });
}

TEST(messages_round_trip, sasl) {
  round_trip(sasl_handshake_request{"SCRAM-SHA-512"});
  round_trip(sasl_handshake_response{0, {"PLAIN", "SCRAM-SHA-256"}});
  round_trip(sasl_authenticate_request{byte_vector{'n', ',', ',', 'n', '=', 'u'}});
  sasl_authenticate_response resp{58, std::string("bad credentials"), byte_vector{1, 2}, 3600000};
  round_trip(resp, [](const sasl_authenticate_response& m, std::int16_t v) {
    EXPECT_EQ(m.error_message, "bad credentials");
    EXPECT_EQ(m.session_lifetime_ms, v >= 1 ? 3600000 : 0);  // KIP-368
  });
}

TEST(messages_round_trip, metadata) {
  metadata_request all;
  round_trip(all, [](const metadata_request& m, std::int16_t) { EXPECT_FALSE(m.topics); });
  metadata_request some;
  some.topics = {{some_uuid(1), std::string("orders")}, {uuid{}, std::string("payments")}};
  some.allow_auto_topic_creation = false;
  some.include_topic_authorized_operations = true;
  round_trip(some, [](const metadata_request& m, std::int16_t v) {
    ASSERT_TRUE(m.topics);
    EXPECT_EQ((*m.topics)[1].name, "payments");
    EXPECT_EQ(m.allow_auto_topic_creation, v < 4);
  });

  metadata_response resp;
  resp.throttle_time_ms = 5;
  resp.brokers = {{1, "b1.example", 9092, std::string("rack-a")}, {2, "b2.example", 9093, std::nullopt}};
  resp.cluster_id = "cluster";
  resp.controller_id = 2;
  metadata_response::topic t;
  t.name = "orders";
  t.topic_id = some_uuid(9);
  t.is_internal = false;
  t.partitions = {{0, 0, 1, 17, {1, 2}, {1, 2}, {}}, {6, 1, -1, 3, {2, 1}, {2}, {1}}};
  t.topic_authorized_operations = 0x0f;
  resp.topics = {t};
  resp.cluster_authorized_operations = 3;
  resp.error_code = 0;
  round_trip(resp, [](const metadata_response& m, std::int16_t v) {
    ASSERT_EQ(m.topics.size(), 1u);
    const auto& p = m.topics[0].partitions[1];
    EXPECT_EQ(p.error_code, 6);
    EXPECT_EQ(p.leader_id, -1);
    EXPECT_EQ(p.leader_epoch, v >= 7 ? 3 : -1);  // KIP-320
    EXPECT_EQ(m.brokers[0].rack, std::string("rack-a"));
    EXPECT_EQ(m.topics[0].topic_id == some_uuid(9), v >= 10);
  });
}

TEST(messages_round_trip, fetch) {
  fetch_request req;
  req.cluster_id = "cluster";
  req.replica_state = fetch_request::replica_state_data{-1, -1};
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.max_bytes = 50 << 20;
  req.isolation = isolation_level::read_committed;
  req.session_id = 0;
  req.session_epoch = -1;
  fetch_request::topic t;
  t.topic = "orders";
  t.topic_id = some_uuid(3);
  t.partitions = {{0, 5, 100, 4, -1, 1 << 20, std::nullopt}, {1, 5, 200, -1, -1, 1 << 20, some_uuid(7)}};
  req.topics = {t};
  req.forgotten_topics_data = {{"old", some_uuid(4), {1, 2}}};
  req.rack_id = "rack-a";
  round_trip(req, [](const fetch_request& m, std::int16_t v) {
    EXPECT_EQ(m.isolation, isolation_level::read_committed);
    EXPECT_EQ(m.topics[0].partitions[1].fetch_offset, 200);
    EXPECT_EQ(m.topics[0].topic, v <= 12 ? "orders" : "");
    EXPECT_EQ(m.topics[0].topic_id == some_uuid(3), v >= 13);  // KIP-516
    EXPECT_EQ(m.cluster_id.has_value(), v >= 12);
    EXPECT_EQ(m.topics[0].partitions[1].replica_directory_id.has_value(), v >= 17);
  });

  const shared_bytes records(byte_vector(61, 0xab));
  fetch_response resp;
  resp.throttle_time_ms = 1;
  resp.error_code = 0;
  resp.session_id = 0;
  fetch_response::partition p;
  p.partition_index = 2;
  p.high_watermark = 1000;
  p.last_stable_offset = 990;
  p.log_start_offset = 10;
  p.current_leader = fetch_response::leader_id_and_epoch{3, 9};
  p.diverging_epoch = fetch_response::epoch_end_offset{8, 900};
  p.snapshot_id = fetch_response::snapshot_id_data{800, 7};
  p.aborted_transactions = std::vector<fetch_response::aborted_transaction>{{77, 950}};
  p.preferred_read_replica = -1;
  p.records = records;
  fetch_response::partition empty;
  empty.partition_index = 3;
  empty.error_code = 1;
  resp.responses = {{"orders", some_uuid(3), {p, empty}}};
  resp.node_endpoints = {{3, "b3.example", 9092, std::nullopt}};
  round_trip(resp, [&](const fetch_response& m, std::int16_t v) {
    const auto& got = m.responses[0].partitions[0];
    ASSERT_TRUE(got.records);
    EXPECT_EQ(got.records->size(), 61u);
    EXPECT_EQ(got.last_stable_offset, 990);
    ASSERT_TRUE(got.aborted_transactions);
    EXPECT_EQ((*got.aborted_transactions)[0].first_offset, 950);
    EXPECT_EQ(got.current_leader.has_value(), v >= 12);
    EXPECT_EQ(m.node_endpoints.size(), v >= 16 ? 1u : 0u);
    EXPECT_FALSE(m.responses[0].partitions[1].records.has_value());
  });
}

TEST(messages_round_trip, produce) {
  const byte_vector batch(70, 0x5a);
  produce_request req;
  req.transactional_id = std::nullopt;
  req.acks = -1;
  req.timeout_ms = 30000;
  req.topic_data = {{"orders", {{0, byte_view(batch)}, {1, std::nullopt}}}};
  EXPECT_EQ(req.records_size(), 70u);
  round_trip(req, [&](const produce_request& m, std::int16_t) {
    const auto& got = m.topic_data[0].partition_data[0].records;
    ASSERT_TRUE(got);
    EXPECT_TRUE(std::equal(got->begin(), got->end(), batch.begin(), batch.end()));
  });
  produce_request txn = req;
  txn.transactional_id = "restore-1";
  round_trip(txn);

  produce_response resp;
  produce_response::partition p;
  p.index = 0;
  p.error_code = 0;
  p.base_offset = 4242;
  p.log_append_time_ms = -1;
  p.log_start_offset = 0;
  p.record_errors = {{3, std::string("bad record")}};
  p.error_message = "oops";
  p.current_leader = produce_response::leader_id_and_epoch{2, 5};
  resp.responses = {{"orders", {p}}};
  resp.throttle_time_ms = 3;
  resp.node_endpoints = {{2, "b2.example", 9092, std::string("r")}};
  round_trip(resp, [](const produce_response& m, std::int16_t v) {
    EXPECT_EQ(m.responses[0].partition_responses[0].base_offset, 4242);
    EXPECT_EQ(m.responses[0].partition_responses[0].record_errors.size(), v >= 8 ? 1u : 0u);
    EXPECT_EQ(m.node_endpoints.size(), v >= 10 ? 1u : 0u);  // KIP-951
  });
}

TEST(messages_round_trip, list_offsets) {
  list_offsets_request req;
  req.isolation_level = 1;
  req.topics = {{"orders", {{0, 4, earliest_timestamp}, {1, -1, latest_timestamp}}}};
  round_trip(req);
  list_offsets_response resp;
  resp.throttle_time_ms = 1;
  resp.topics = {{"orders", {{0, 0, -1, 12, 4}, {1, 6, -1, -1, -1}}}};
  round_trip(resp, [](const list_offsets_response& m, std::int16_t) {
    EXPECT_EQ(m.topics[0].partitions[0].offset, 12);
  });
}

TEST(messages_round_trip, init_producer_id) {
  round_trip(init_producer_id_request{std::string("tx"), 60000, 5, 1});
  round_trip(init_producer_id_request{std::nullopt, 60000, -1, -1});
  round_trip(init_producer_id_response{0, 0, 1234, 2});
}

TEST(messages_round_trip, find_coordinator) {
  find_coordinator_request req;
  req.key_value = "group-a";
  req.key_type = 0;
  req.coordinator_keys = {"group-a", "group-b"};
  round_trip(req);
  find_coordinator_response resp;
  resp.error_message = "x";
  resp.node_id = 1;
  resp.host = "b1";
  resp.port = 9092;
  resp.coordinators = {{"group-a", 1, "b1", 9092, 0, std::nullopt}, {"group-b", -1, "", -1, 15, std::string("loading")}};
  round_trip(resp, [](const find_coordinator_response& m, std::int16_t v) {
    EXPECT_EQ(m.coordinators.size(), v >= 4 ? 2u : 0u);  // KIP-699
    EXPECT_EQ(m.node_id, v <= 3 ? 1 : -1);
  });
}

TEST(messages_round_trip, offset_fetch) {
  offset_fetch_request req;
  req.group_id = "g";
  req.topics = std::vector<offset_fetch_request::topic>{{"orders", {0, 1, 2}}};
  req.groups = {{"g", std::string("m"), 3, std::nullopt}, {"h", std::nullopt, -1, std::vector<offset_fetch_request::topic>{{"t", {0}}}}};
  req.require_stable = true;
  round_trip(req);
  offset_fetch_request all_topics;
  all_topics.group_id = "g";
  round_trip(all_topics, [](const offset_fetch_request& m, std::int16_t v) {
    EXPECT_EQ(m.topics.has_value(), v < 2) << "v1 cannot say null: sends an empty list";
  });
  offset_fetch_response resp;
  resp.throttle_time_ms = 2;
  resp.topics = {{"orders", {{0, 55, 3, std::string("meta"), 0}, {1, -1, -1, std::nullopt, 0}}}};
  resp.error_code = 0;
  resp.groups = {{"g", {{"orders", {{0, 55, 3, std::nullopt, 0}}}}, 0}};
  round_trip(resp);
}

TEST(messages_round_trip, offset_commit) {
  offset_commit_request req;
  req.group_id = "g";
  req.generation_id_or_member_epoch = -1;
  req.member_id = "";
  req.group_instance_id = std::nullopt;
  req.retention_time_ms = -1;
  req.topics = {{"orders", {{0, 100, 4, std::string("")}, {1, 7, -1, std::nullopt}}}};
  round_trip(req);
  round_trip(offset_commit_response{1, {{"orders", {{0, 0}, {1, 25}}}}});
}

TEST(messages_round_trip, groups) {
  round_trip(list_groups_request{{"Stable", "Empty"}, {"classic"}});
  round_trip(list_groups_response{0, 0, {{"g", "consumer", "Stable", "classic"}}});
  round_trip(describe_groups_request{{"g", "h"}, true});
  describe_groups_response resp;
  resp.throttle_time_ms = 0;
  describe_groups_response::group g;
  g.group_id = "g";
  g.group_state = "Stable";
  g.protocol_type = "consumer";
  g.protocol_data = "range";
  g.members = {{"m-1", std::string("inst"), "client", "/10.0.0.1", {0, 1, 2}, {3, 4}}};
  g.authorized_operations = 8;
  resp.groups = {g};
  round_trip(resp);
}

TEST(messages_round_trip, admin) {
  create_topics_request ct;
  ct.topics = {{"orders", 6, 3, {}, {{"cleanup.policy", std::string("compact")}, {"x", std::nullopt}}},
               {"manual", -1, -1, {{0, {1, 2}}, {1, {2, 3}}}, {}}};
  ct.timeout_ms = 30000;
  ct.validate_only = false;
  round_trip(ct);
  create_topics_response ctr;
  ctr.throttle_time_ms = 0;
  create_topics_response::topic t;
  t.name = "orders";
  t.topic_id = some_uuid(5);
  t.error_code = 36;
  t.error_message = "exists";
  t.topic_config_error_code = 0;
  t.num_partitions = 6;
  t.replication_factor = 3;
  t.configs = std::vector<create_topics_response::config>{{"cleanup.policy", std::string("compact"), false, 1, false}};
  ctr.topics = {t};
  round_trip(ctr, [](const create_topics_response& m, std::int16_t v) {
    EXPECT_EQ(m.topics[0].topic_config_error_code.has_value(), v >= 5);
  });

  describe_configs_request dc;
  dc.resources = {{2, "orders", std::nullopt}, {4, "1", std::vector<std::string>{"log.retention.ms"}}};
  dc.include_synonyms = true;
  dc.include_documentation = true;
  round_trip(dc);
  describe_configs_response dcr;
  describe_configs_response::config c;
  c.name = "retention.ms";
  c.value = "1000";
  c.config_source = 1;
  c.synonyms = {{"log.retention.ms", std::string("5"), 5}};
  c.config_type = 5;
  c.documentation = "how long";
  dcr.results = {{0, std::nullopt, 2, "orders", {c}}};
  round_trip(dcr);

  round_trip(delete_records_request{{{"orders", {{0, 100}, {1, -1}}}}, 30000});
  round_trip(delete_records_response{0, {{"orders", {{0, 100, 0}, {1, -1, 6}}}}});
}

// FetchResponse v4 by hand from FetchResponse.json: non-flexible, one partition with a null
// AbortedTransactions and a 3-byte record set that must come back as a zero-copy slice.
TEST(messages_golden, fetch_response_v4) {
  const byte_vector body{
      0x00, 0x00, 0x00, 0x2a,  // response header v0: CorrelationId 42
      0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs (v1+)
      0x00, 0x00, 0x00, 0x01,  // Responses: 1 topic
      0x00, 0x01, 't',         //   Topic "t"
      0x00, 0x00, 0x00, 0x01,  //   Partitions: 1
      0x00, 0x00, 0x00, 0x00,  //     PartitionIndex 0
      0x00, 0x00,              //     ErrorCode 0
      0, 0, 0, 0, 0, 0, 0, 0x10,  //   HighWatermark 16
      0, 0, 0, 0, 0, 0, 0, 0x0f,  //   LastStableOffset 15 (v4+)
      0xff, 0xff, 0xff, 0xff,  //     AbortedTransactions: null (v4+)
      0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc,  // Records: 3 bytes
  };
  const shared_bytes buf(body);
  auto resp = decode_response<fetch_response>(buf, 4);
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_EQ(resp->responses.size(), 1u);
  EXPECT_EQ(resp->responses[0].topic, "t");
  const auto& p = resp->responses[0].partitions[0];
  EXPECT_EQ(p.high_watermark, 16);
  EXPECT_EQ(p.last_stable_offset, 15);
  EXPECT_EQ(p.log_start_offset, -1) << "absent before v5: schema default";
  EXPECT_FALSE(p.aborted_transactions);
  ASSERT_TRUE(p.records);
  EXPECT_EQ(p.records->data(), buf.data() + body.size() - 3) << "records must not be copied";
  byte_vector framed{0, 0, 0, static_cast<std::uint8_t>(body.size())};
  framed.insert(framed.end(), body.begin(), body.end());
  EXPECT_EQ(encode_response(*resp, 4, 42), framed);
}

// FetchResponse v12 (first flexible): header v1, compact types, CurrentLeader as tag 1 inside
// the partition, an unknown tag 7 at top level that must be skipped.
TEST(messages_golden, fetch_response_v12_with_tagged_fields) {
  const byte_vector body{
      0x00, 0x00, 0x00, 0x01,  // CorrelationId 1
      0x00,                    // response header v1 tags
      0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs
      0x00, 0x00,              // ErrorCode
      0x00, 0x00, 0x00, 0x00,  // SessionId
      0x02,                    // Responses: compact array of 1
      0x02, 't',               //   Topic: compact string
      0x02,                    //   Partitions: compact array of 1
      0x00, 0x00, 0x00, 0x01,  //     PartitionIndex 1
      0x00, 0x00,              //     ErrorCode
      0, 0, 0, 0, 0, 0, 0, 0x05,  //   HighWatermark 5
      0, 0, 0, 0, 0, 0, 0, 0x05,  //   LastStableOffset 5
      0, 0, 0, 0, 0, 0, 0, 0x00,  //   LogStartOffset 0
      0x01,                    //     AbortedTransactions: compact, empty (n+1 = 1)
      0xff, 0xff, 0xff, 0xff,  //     PreferredReadReplica -1
      0x03, 0x01, 0x02,        //     Records: compact bytes, 2 bytes
      0x01,                    //     partition tags: 1 field
      0x01, 0x09,              //       tag 1 (CurrentLeader), 9 bytes
      0x00, 0x00, 0x00, 0x04,  //         LeaderId 4
      0x00, 0x00, 0x00, 0x06,  //         LeaderEpoch 6
      0x00,                    //         struct tags
      0x00,                    //   topic tags
      0x01,                    // top-level tags: 1 field
      0x07, 0x02, 0xde, 0xad,  //   tag 7 (unknown), 2 bytes: skipped
  };
  auto resp = decode_response<fetch_response>(shared_bytes(body), 12);
  ASSERT_TRUE(resp) << resp.error().message;
  const auto& p = resp->responses[0].partitions[0];
  EXPECT_EQ(p.partition_index, 1);
  ASSERT_TRUE(p.aborted_transactions);
  EXPECT_TRUE(p.aborted_transactions->empty());
  ASSERT_TRUE(p.current_leader);
  EXPECT_EQ(p.current_leader->leader_id, 4);
  EXPECT_EQ(p.current_leader->leader_epoch, 6);
  EXPECT_FALSE(p.diverging_epoch);
  ASSERT_TRUE(p.records);
  EXPECT_EQ(p.records->size(), 2u);
}

// ProduceRequest v3 by hand from ProduceRequest.json.
TEST(messages_golden, produce_request_v3) {
  const byte_vector batch{0x01, 0x02, 0x03, 0x04};
  produce_request req;
  req.acks = -1;
  req.timeout_ms = 1000;
  req.topic_data = {{"t", {{0, byte_view(batch)}}}};
  const byte_vector expected{
      0xff, 0xff,              // TransactionalId: null (v3+)
      0xff, 0xff,              // Acks -1
      0x00, 0x00, 0x03, 0xe8,  // TimeoutMs 1000
      0x00, 0x00, 0x00, 0x01,  // TopicData: 1
      0x00, 0x01, 't',         //   Name
      0x00, 0x00, 0x00, 0x01,  //   PartitionData: 1
      0x00, 0x00, 0x00, 0x00,  //     Index 0
      0x00, 0x00, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04,  // Records
  };
  EXPECT_EQ(encode_at(req, 3), expected);
}

TEST(messages_decode, null_non_nullable_array_is_malformed) {
  // ListGroupsResponse v0: ErrorCode, then Groups = null (not allowed by the schema).
  const byte_vector body{0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
  reader r{shared_bytes(body)};
  auto m = list_groups_response::decode(r, 0);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, make_error_code(wire_errc::malformed));
}

}  // namespace
}  // namespace kb::protocol
