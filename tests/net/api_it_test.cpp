// Integration: every API the client speaks against the harness's real Kafka, once at the
// negotiated (highest common) version and once forced to the lowest version the broker still
// accepts (both read from the broker's ApiVersions response); each response is decoded completely (leftover bytes fail the decode) and checked.
#include <algorithm>
#include <iostream>

#include <gtest/gtest.h>

#include "protocol/api_versions.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/delete_records.hpp"
#include "protocol/describe_configs.hpp"
#include "protocol/describe_groups.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/init_producer_id.hpp"
#include "protocol/list_groups.hpp"
#include "protocol/list_offsets.hpp"
#include "protocol/offset_commit.hpp"
#include "protocol/offset_fetch.hpp"
#include "tests/net/kafka_it.hpp"

namespace kb::net {
namespace {

using namespace testing;
using protocol::api_key;

// The APIs exercised below. Expected versions are derived from the broker's own ApiVersions
// response (read over a separate probe connection), so the test follows the harness broker.
constexpr api_key every_api[] = {
    api_key::produce,          api_key::fetch,          api_key::list_offsets,   api_key::metadata,
    api_key::offset_commit,    api_key::offset_fetch,   api_key::find_coordinator, api_key::describe_groups,
    api_key::list_groups,      api_key::sasl_handshake, api_key::api_versions,   api_key::create_topics,
    api_key::delete_records,   api_key::init_producer_id, api_key::describe_configs, api_key::sasl_authenticate,
};

struct expected_range {
  std::int16_t highest = -1;  ///< min(ours, broker max)
  std::int16_t lowest = -1;   ///< max(ours, broker min)
};

/// The broker's advertised ranges, from a raw ApiVersions request of our own.
std::map<std::int16_t, protocol::api_version_range> broker_ranges() {
  session probe("PLAINTEXT");
  std::map<std::int16_t, protocol::api_version_range> out;
  auto connected = probe.connect();
  EXPECT_TRUE(connected) << connected.error().message;
  if (!connected) return out;
  auto r = probe.send(protocol::api_versions_request{"kb-net-it", "1.0"});
  EXPECT_TRUE(r) << r.error().message;
  if (!r) return out;
  for (const auto& k : r->api_keys) out[k.api_key] = {k.api_key, k.min_version, k.max_version};
  return out;
}

std::map<api_key, expected_range> expected_ranges() {
  std::map<api_key, expected_range> out;
  const auto broker = broker_ranges();
  for (const auto key : every_api) {
    const auto* ours = protocol::find_support(key);
    const auto it = broker.find(static_cast<std::int16_t>(key));
    EXPECT_NE(it, broker.end()) << "the broker does not offer " << protocol::name(key);
    if (ours == nullptr || it == broker.end()) continue;
    out[key] = {std::min(ours->max_version, it->second.max_version),
                std::max(ours->min_version, it->second.min_version)};
  }
  return out;
}

std::map<api_key, std::int16_t> lowest_caps(const std::map<api_key, expected_range>& ranges) {
  std::map<api_key, std::int16_t> caps;
  for (const auto& [key, e] : ranges) caps[key] = e.lowest;
  caps[api_key::sasl_handshake] = 1;  // v0 means raw tokens without SaslAuthenticate; we need v1
  return caps;
}

std::int16_t version_of(session& s, api_key key) {
  auto v = s.conn->versions().get(key);
  EXPECT_TRUE(v) << protocol::name(key);
  return v.value_or(-1);
}

TEST(api_it, negotiation_follows_the_brokers_advertised_ranges) {
  const auto broker = broker_ranges();
  ASSERT_FALSE(broker.empty());
  session s("PLAINTEXT");
  ASSERT_TRUE(s.connect());
  for (const auto key : every_api) {
    SCOPED_TRACE(std::string(protocol::name(key)));
    const auto* ours = protocol::find_support(key);
    ASSERT_NE(ours, nullptr);
    const auto it = broker.find(static_cast<std::int16_t>(key));
    ASSERT_NE(it, broker.end());
    const auto range = s.conn->versions().broker_range(key);
    ASSERT_TRUE(range.has_value());
    EXPECT_EQ(range->min_version, it->second.min_version);
    EXPECT_EQ(range->max_version, it->second.max_version);
    // Every API we speak overlaps the harness broker's range (Kafka 4.x dropped old versions).
    ASSERT_LE(it->second.min_version, ours->max_version);
    ASSERT_GE(it->second.max_version, ours->min_version);
    EXPECT_EQ(s.conn->versions().find(key), std::min(ours->max_version, it->second.max_version));
    EXPECT_EQ(s.conn->versions().lowest(key), std::max(ours->min_version, it->second.min_version));
    std::cerr << "[range] " << protocol::name(key) << " broker " << it->second.min_version << ".."
              << it->second.max_version << " ours " << ours->min_version << ".." << ours->max_version
              << " -> " << *s.conn->versions().find(key) << "\n";
  }
}

/// Runs every API once on a connection whose versions are capped by `caps` (empty: highest).
void exercise_every_api(bool low) {
  const auto ranges = expected_ranges();
  ASSERT_EQ(ranges.size(), std::size(every_api));
  const auto caps = low ? lowest_caps(ranges) : std::map<api_key, std::int16_t>{};
  session s("PLAINTEXT", "admin", caps);
  auto connected = s.connect();
  ASSERT_TRUE(connected) << connected.error().message;
  for (const auto& [key, e] : ranges) {
    if (key == api_key::sasl_handshake || key == api_key::sasl_authenticate) continue;
    EXPECT_EQ(version_of(s, key), low ? e.lowest : e.highest) << protocol::name(key);
  }

  // ApiVersions, sent again as an ordinary request.
  {
    auto r = s.send(protocol::api_versions_request{"kb-net-it", "1.0"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->error_code, 0);
    EXPECT_GE(r->api_keys.size(), protocol::supported_apis.size());  // Kafka 4.1 lists some 60
    const auto fetch = std::find_if(r->api_keys.begin(), r->api_keys.end(),
                                    [](const auto& k) { return k.api_key == 1; });
    ASSERT_NE(fetch, r->api_keys.end());
    const auto fetch_range = s.conn->versions().broker_range(api_key::fetch);
    ASSERT_TRUE(fetch_range.has_value());
    EXPECT_EQ(fetch->max_version, fetch_range->max_version);
    EXPECT_EQ(fetch->min_version, fetch_range->min_version);
    if (version_of(s, api_key::api_versions) >= 3) {
      // KRaft brokers finalize metadata.version; the tagged fields must have decoded.
      const bool has_mv = std::any_of(r->finalized_features.begin(), r->finalized_features.end(),
                                      [](const auto& f) { return f.name == "metadata.version"; });
      EXPECT_TRUE(has_mv);
      EXPECT_FALSE(r->supported_features.empty());
      EXPECT_TRUE(r->finalized_features_epoch.has_value());
    }
  }

  // CreateTopics with a topic config, then Metadata for it.
  const std::string topic = unique_name(low ? "kb-api-low" : "kb-api-high");
  protocol::uuid created_id;
  {
    protocol::create_topics_request req;
    req.topics.push_back({topic, 2, 1, {}, {{"retention.ms", "7200000"}}});
    req.timeout_ms = 20000;
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->topics.size(), 1u);
    EXPECT_EQ(r->topics[0].name, topic);
    EXPECT_EQ(r->topics[0].error_code, 0) << r->topics[0].error_message.value_or("");
    if (version_of(s, api_key::create_topics) >= 5) {
      EXPECT_EQ(r->topics[0].num_partitions, 2);
      EXPECT_EQ(r->topics[0].replication_factor, 1);
      ASSERT_TRUE(r->topics[0].configs.has_value());
      const auto& cfgs = *r->topics[0].configs;
      const auto ret = std::find_if(cfgs.begin(), cfgs.end(), [](const auto& c) { return c.name == "retention.ms"; });
      ASSERT_NE(ret, cfgs.end());
      EXPECT_EQ(ret->value, "7200000");
    }
    if (version_of(s, api_key::create_topics) >= 7) {
      EXPECT_FALSE(r->topics[0].topic_id.is_zero());
    }
    created_id = r->topics[0].topic_id;
  }
  std::int32_t leader = -1;
  for (int attempt = 0; attempt < 100 && leader < 0; ++attempt) {
    protocol::metadata_request req;
    req.topics = std::vector<protocol::metadata_request::topic>{{{}, topic}};
    req.allow_auto_topic_creation = false;
    req.include_topic_authorized_operations = true;
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->topics.size(), 1u);
    const auto& t = r->topics[0];
    EXPECT_EQ(t.name, topic);
    EXPECT_FALSE(r->brokers.empty());
    EXPECT_EQ(r->error_code, 0);
    if (t.error_code != 0 || t.partitions.size() != 2 || t.partitions[0].leader_id < 0 ||
        t.partitions[1].leader_id < 0) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    leader = t.partitions[0].leader_id;
    EXPECT_EQ(t.partitions[0].replica_nodes, std::vector<std::int32_t>{leader});
    EXPECT_EQ(t.partitions[0].isr_nodes, std::vector<std::int32_t>{leader});
    const auto mv = version_of(s, api_key::metadata);
    if (mv >= 2) {
      EXPECT_TRUE(r->cluster_id.has_value());
    }
    EXPECT_EQ(r->controller_id >= 0 || mv < 1, true);
    if (mv >= 7) {
      EXPECT_GE(t.partitions[0].leader_epoch, 0);
    }
    if (mv >= 8) {
      EXPECT_NE(t.topic_authorized_operations, protocol::authorized_operations_unknown);
    }
    if (mv >= 10) {
      EXPECT_FALSE(t.topic_id.is_zero());
      if (version_of(s, api_key::create_topics) >= 7) {
        EXPECT_EQ(t.topic_id, created_id);
      }
    }
  }
  ASSERT_GE(leader, 0) << "no leader for " << topic;

  // Produce three records (a header, a null key), ListOffsets, Fetch.
  const std::int64_t ts0 = now_ms();
  {
    protocol::record_batch_builder b({.codec = protocol::compression_codec::lz4});
    const protocol::record_header h{as_bytes("h"), as_bytes("v")};
    b.add(ts0, as_bytes("k0"), as_bytes("v0"), std::span(&h, 1));
    b.add(ts0 + 1, std::nullopt, as_bytes("v1"));
    b.add(ts0 + 2, as_bytes("k2"), std::nullopt);
    auto batch = b.build();
    ASSERT_TRUE(batch);
    protocol::produce_request req;
    req.acks = -1;
    req.timeout_ms = 20000;
    req.topic_data.push_back({topic, {{0, byte_view(*batch)}}});
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->responses.size(), 1u);
    EXPECT_EQ(r->responses[0].name, topic);
    ASSERT_EQ(r->responses[0].partition_responses.size(), 1u);
    const auto& p = r->responses[0].partition_responses[0];
    EXPECT_EQ(p.error_code, 0) << p.error_message.value_or("");
    EXPECT_EQ(p.base_offset, 0);
    EXPECT_EQ(p.log_append_time_ms, -1);  // CreateTime topic
    if (version_of(s, api_key::produce) >= 5) {
      EXPECT_EQ(p.log_start_offset, 0);
    }
  }
  auto list_offset = [&](std::int64_t timestamp) -> std::int64_t {
    protocol::list_offsets_request req;
    req.topics.push_back({topic, {{0, -1, timestamp}, {1, -1, timestamp}}});
    auto r = s.send(req);
    EXPECT_TRUE(r) << r.error().message;
    if (!r || r->topics.size() != 1 || r->topics[0].partitions.size() != 2) return -100;
    // The broker may answer the partitions in any order: pick them by index.
    const auto& ps = r->topics[0].partitions;
    const bool first_is_0 = ps[0].partition_index == 0;
    const auto& p0 = first_is_0 ? ps[0] : ps[1];
    const auto& p1 = first_is_0 ? ps[1] : ps[0];
    EXPECT_EQ(p0.partition_index, 0);
    EXPECT_EQ(p1.partition_index, 1);
    EXPECT_EQ(p0.error_code, 0);
    EXPECT_EQ(p1.error_code, 0);
    // Partition 1 stays empty: earliest and latest are 0, a timestamp search finds nothing (-1).
    EXPECT_EQ(p1.offset, timestamp < 0 ? 0 : -1);
    if (version_of(s, api_key::list_offsets) >= 4) {
      EXPECT_GE(p0.leader_epoch, 0);
    }
    return p0.offset;
  };
  EXPECT_EQ(list_offset(protocol::latest_timestamp), 3);
  EXPECT_EQ(list_offset(protocol::earliest_timestamp), 0);
  EXPECT_EQ(list_offset(ts0 + 1), 1);  // first record at or after the timestamp
  {
    auto f = fetch_all(s, topic);
    ASSERT_TRUE(f) << f.error().message;
    const std::vector<plain_record> want = {
        {0, "k0", "v0", {{"h", "v"}}}, {1, std::nullopt, "v1", {}}, {2, "k2", std::nullopt, {}}};
    EXPECT_EQ(f->records, want);
    ASSERT_EQ(f->codecs.size(), 1u);
    EXPECT_EQ(f->codecs[0], protocol::compression_codec::lz4);
    EXPECT_EQ(f->partition.high_watermark, 3);
    EXPECT_EQ(f->partition.last_stable_offset, 3);
    if (version_of(s, api_key::fetch) >= 5) {
      EXPECT_EQ(f->partition.log_start_offset, 0);  // v4 lacks it
          ASSERT_TRUE(f->partition.aborted_transactions.has_value() || version_of(s, api_key::fetch) >= 12);
    }
  }

  // DeleteRecords moves the log start; ListOffsets and Fetch see it.
  {
    protocol::delete_records_request req;
    req.topics.push_back({topic, {{0, 1}}});
    req.timeout_ms = 20000;
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->topics.size(), 1u);
    ASSERT_EQ(r->topics[0].partitions.size(), 1u);
    EXPECT_EQ(r->topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(r->topics[0].partitions[0].low_watermark, 1);
    EXPECT_EQ(list_offset(protocol::earliest_timestamp), 1);
    auto f = fetch_all(s, topic, 1);
    ASSERT_TRUE(f) << f.error().message;
    if (version_of(s, api_key::fetch) >= 5) {
      EXPECT_EQ(f->partition.log_start_offset, 1);
    }
    EXPECT_EQ(f->records.size(), 2u);
  }

  // InitProducerId (idempotent, no transactional id). A fresh broker may answer
  // COORDINATOR_LOAD_IN_PROGRESS (14) or COORDINATOR_NOT_AVAILABLE (15) at first: retriable.
  {
    std::int16_t code = -1;
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto r = s.send(protocol::init_producer_id_request{});
      ASSERT_TRUE(r) << r.error().message;
      code = r->error_code;
      if (code == 14 || code == 15) {
        const auto cls = protocol::classify(code);
        EXPECT_TRUE(cls == protocol::error_class::retriable || cls == protocol::error_class::find_coordinator);
        std::this_thread::sleep_for(200ms);
        continue;
      }
      EXPECT_EQ(r->error_code, 0);
      EXPECT_GE(r->producer_id, 0);
      EXPECT_GE(r->producer_epoch, 0);
      break;
    }
    EXPECT_EQ(code, 0);
  }

  // FindCoordinator, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups for a fresh group.
  const std::string group = unique_name(low ? "kb-api-group-low" : "kb-api-group-high");
  {
    protocol::find_coordinator_request req;
    req.key_value = group;
    req.coordinator_keys = {group};
    req.key_type = static_cast<std::int8_t>(protocol::coordinator_type::group);
    std::int32_t node = -1;
    for (int attempt = 0; attempt < 50 && node < 0; ++attempt) {
      auto r = s.send(req);
      ASSERT_TRUE(r) << r.error().message;
      if (version_of(s, api_key::find_coordinator) >= 4) {
        ASSERT_EQ(r->coordinators.size(), 1u);
        EXPECT_EQ(r->coordinators[0].key, group);
        if (r->coordinators[0].error_code == 0) node = r->coordinators[0].node_id;
        if (node >= 0) {
          EXPECT_GT(r->coordinators[0].port, 0);
        }
      } else if (r->error_code == 0) {
        node = r->node_id;
        EXPECT_GT(r->port, 0);
      }
      if (node < 0) std::this_thread::sleep_for(200ms);  // COORDINATOR_NOT_AVAILABLE at first
    }
    EXPECT_EQ(node, leader);  // one broker
  }
  {
    protocol::offset_commit_request req;
    req.group_id = group;
    req.topics.push_back({topic, {{0, 2, -1, "kb-meta"}}});
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->topics.size(), 1u);
    ASSERT_EQ(r->topics[0].partitions.size(), 1u);
    EXPECT_EQ(r->topics[0].partitions[0].error_code, 0);
  }
  {
    protocol::offset_fetch_request req;
    const std::vector<protocol::offset_fetch_request::topic> topics = {{topic, {0, 1}}};
    req.group_id = group;
    req.topics = topics;
    req.groups.push_back({group, std::nullopt, -1, topics});
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;
    const bool batched = version_of(s, api_key::offset_fetch) >= 8;
    if (batched) {
      ASSERT_EQ(r->groups.size(), 1u);
      EXPECT_EQ(r->groups[0].group_id, group);
      EXPECT_EQ(r->groups[0].error_code, 0);
    }
    const auto& ts = batched ? r->groups[0].topics : r->topics;
    ASSERT_EQ(ts.size(), 1u);
    ASSERT_EQ(ts[0].partitions.size(), 2u);
    const auto& p0 = ts[0].partitions[0].partition_index == 0 ? ts[0].partitions[0] : ts[0].partitions[1];
    const auto& p1 = ts[0].partitions[0].partition_index == 0 ? ts[0].partitions[1] : ts[0].partitions[0];
    EXPECT_EQ(p0.committed_offset, 2);
    EXPECT_EQ(p0.metadata, "kb-meta");
    EXPECT_EQ(p1.committed_offset, -1);  // nothing committed
  }
  {
    auto r = s.send(protocol::list_groups_request{});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->error_code, 0);
    const auto g = std::find_if(r->groups.begin(), r->groups.end(), [&](const auto& x) { return x.group_id == group; });
    ASSERT_NE(g, r->groups.end());
    if (version_of(s, api_key::list_groups) >= 4) {
      EXPECT_EQ(g->group_state, "Empty");
    }
    if (version_of(s, api_key::list_groups) >= 5) {
      EXPECT_EQ(g->group_type, "classic");
    }
  }
  {
    protocol::describe_groups_request req;
    req.groups = {group};
    req.include_authorized_operations = true;
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->groups.size(), 1u);
    EXPECT_EQ(r->groups[0].error_code, 0);
    EXPECT_EQ(r->groups[0].group_id, group);
    EXPECT_EQ(r->groups[0].group_state, "Empty");
    EXPECT_TRUE(r->groups[0].members.empty());
    if (version_of(s, api_key::describe_groups) >= 3) {
      EXPECT_NE(r->groups[0].authorized_operations, std::numeric_limits<std::int32_t>::min());
    }
  }

  // DescribeConfigs for the topic: our override and its source.
  {
    protocol::describe_configs_request req;
    req.resources.push_back({static_cast<std::int8_t>(protocol::config_resource_type::topic), topic, std::nullopt});
    req.include_synonyms = true;
    req.include_documentation = true;
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->results.size(), 1u);
    EXPECT_EQ(r->results[0].error_code, 0);
    EXPECT_EQ(r->results[0].resource_name, topic);
    const auto& cfgs = r->results[0].configs;
    EXPECT_GT(cfgs.size(), 20u);
    const auto ret = std::find_if(cfgs.begin(), cfgs.end(), [](const auto& c) { return c.name == "retention.ms"; });
    ASSERT_NE(ret, cfgs.end());
    EXPECT_EQ(ret->value, "7200000");
    EXPECT_EQ(ret->config_source, 1);  // DYNAMIC_TOPIC_CONFIG
    EXPECT_FALSE(ret->synonyms.empty());
    if (version_of(s, api_key::describe_configs) >= 3) {
      EXPECT_EQ(ret->config_type, 5);  // LONG
      EXPECT_TRUE(ret->documentation.has_value());
    }
  }

  // SaslHandshake and SaslAuthenticate: a SCRAM login on the SASL listener at the same caps.
  {
    session sasl("SASL_PLAINTEXT", "admin", caps);
    auto ok = sasl.connect();
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(sasl.conn->authentications(), 1);
    EXPECT_EQ(version_of(sasl, api_key::sasl_handshake), 1);
    EXPECT_EQ(version_of(sasl, api_key::sasl_authenticate), low ? 0 : 2);
    protocol::metadata_request md;
    md.topics = std::vector<protocol::metadata_request::topic>{{{}, topic}};
    md.allow_auto_topic_creation = false;
    auto r = sasl.send(md);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->topics.size(), 1u);
    EXPECT_EQ(r->topics[0].error_code, 0);
  }
}

TEST(api_it, every_api_at_the_highest_version) { exercise_every_api(false); }

TEST(api_it, every_api_at_the_lowest_version) { exercise_every_api(true); }

}  // namespace
}  // namespace kb::net
