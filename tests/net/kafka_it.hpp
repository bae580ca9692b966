// Shared by the net integration tests that talk to the harness's real broker: one connection
// per listener, topic creation, produce of built batches and fetch + decode of every record.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "net/connection.hpp"
#include "protocol/create_topics.hpp"
#include "protocol/fetch.hpp"
#include "protocol/metadata.hpp"
#include "protocol/produce.hpp"
#include "protocol/records/record_batch.hpp"
#include "tests/net/harness_env.hpp"

namespace kb::net::testing {

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

inline host_port listener(const char* name) {
  const std::string hp = env().str({"kafka", "listeners", name});
  EXPECT_FALSE(hp.empty()) << "env.json lacks kafka.listeners." << name;
  const auto colon = hp.rfind(':');
  if (colon == std::string::npos) return {};
  return {hp.substr(0, colon), static_cast<std::uint16_t>(std::stoi(hp.substr(colon + 1)))};
}

/// Record timestamps for tests on the shared broker: now, so its 7-day time retention never deletes the
/// log under a running test (2023 stamps made a three-broker test flaky that way).
inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string unique_name(std::string_view prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::string(prefix) + "-" + std::to_string(rng() % 100000000);
}

/// One connection on its own io_context; every call runs to completion with a time limit.
struct session {
  asio::io_context io;
  std::shared_ptr<connection> conn;

  /// Connects to `listener_name`; SASL listeners log in as `user` with SCRAM-SHA-512.
  explicit session(const char* listener_name, const char* user = "admin",
                   std::map<protocol::api_key, std::int16_t> caps = {}) {
    const std::string name = listener_name;
    connection_options opts;
    opts.client_id = "kb-net-it";
    opts.connect_timeout = 15s;
    opts.request_timeout = 30s;
    opts.max_versions = std::move(caps);
    opts.protocol = name == "PLAINTEXT"        ? security_protocol::plaintext
                    : name == "SASL_PLAINTEXT" ? security_protocol::sasl_plaintext
                    : name == "SASL_SSL"       ? security_protocol::sasl_ssl
                                               : security_protocol::ssl;
    if (uses_tls(opts.protocol)) opts.tls.ca_location = env().str({"tls", "ca"});
    if (uses_sasl(opts.protocol)) opts.sasl = {"SCRAM-SHA-512", user, secret(env().str({"users", user}))};
    const auto t = listener(listener_name);
    conn = connection::create(io.get_executor(), t.host, t.port, std::move(opts));
  }
  /// Connects to `listener_name` with exactly `opts` (any mechanism, client certificate, …).
  session(const char* listener_name, connection_options opts) {
    const auto t = listener(listener_name);
    conn = connection::create(io.get_executor(), t.host, t.port, std::move(opts));
  }
  ~session() {
    if (conn) conn->close();
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  result<void> connect() { return run(io, conn->async_connect()); }

  template <class Request>
  result<typename Request::response_type> send(Request req) {
    return run(io, conn->async_request(std::move(req)));
  }
};

/// Creates `topic` (RF 1) and waits until every partition has a leader. Returns the leader.
inline result<std::int32_t> create_topic(session& s, const std::string& topic, std::int32_t partitions = 1,
                                         std::vector<protocol::create_topics_request::config> configs = {}) {
  protocol::create_topics_request create;
  create.topics.push_back({topic, partitions, 1, {}, std::move(configs)});
  create.timeout_ms = 20000;
  auto created = s.send(create);
  if (!created) return fail(std::move(created.error()));
  if (created->topics.size() != 1 || created->topics[0].error_code != 0)
    return fail(errc::broker, "CreateTopics failed: " + created->topics.at(0).error_message.value_or("?"));
  for (int attempt = 0; attempt < 100; ++attempt) {
    protocol::metadata_request md;
    md.topics = std::vector<protocol::metadata_request::topic>{{{}, topic}};
    md.allow_auto_topic_creation = false;
    auto resp = s.send(md);
    if (!resp) return fail(std::move(resp.error()));
    if (resp->topics.size() == 1 && resp->topics[0].error_code == 0 &&
        resp->topics[0].partitions.size() == static_cast<std::size_t>(partitions)) {
      bool all = true;
      for (const auto& p : resp->topics[0].partitions) all = all && p.leader_id >= 0;
      if (all) return resp->topics[0].partitions[0].leader_id;
    }
    std::this_thread::sleep_for(100ms);
  }
  return fail(errc::timeout, "no leader for " + topic);
}

/// A record as plain strings, for comparisons with what another client wrote or read.
struct plain_record {
  std::int64_t offset = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool operator==(const plain_record&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const plain_record& r) {
  os << "{" << r.offset << " key=" << r.key.value_or("<null>") << " value=" << r.value.value_or("<null>")
     << " headers=" << r.headers.size() << "}";
  return os;
}

/// Produces one batch to partition 0 with acks=all; returns the base offset.
inline result<std::int64_t> produce_batch(session& s, const std::string& topic, const byte_vector& batch,
                                          std::int32_t partition = 0) {
  protocol::produce_request req;
  req.acks = -1;
  req.timeout_ms = 20000;
  req.topic_data.push_back({topic, {{partition, byte_view(batch)}}});
  auto resp = s.send(req);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->responses.size() != 1 || resp->responses[0].partition_responses.size() != 1)
    return fail(errc::protocol, "Produce response does not hold exactly our partition");
  const auto& p = resp->responses[0].partition_responses[0];
  if (p.error_code != 0)
    return fail(errc::broker, "Produce error " + std::to_string(p.error_code) + " " + p.error_message.value_or(""));
  return p.base_offset;
}

/// What one partition fetch returned: the batches, their records and the partition fields.
struct fetched {
  std::vector<plain_record> records;            ///< data records (control batches excluded)
  std::vector<protocol::fetched_batch> batches;  ///< every complete batch
  std::vector<protocol::compression_codec> codecs;
  std::vector<protocol::control_record> markers;
  std::vector<std::int64_t> marker_producers;
  std::vector<std::int64_t> timestamps;          ///< of `records`, same order
  protocol::fetch_response::partition partition;
};

/// Fetches partition `partition` from `offset` until `until` (exclusive) or the high
/// watermark, verifying each batch's CRC; bounded to 50 round trips.
inline result<fetched> fetch_all(session& s, const std::string& topic, std::int64_t offset = 0,
                                 protocol::isolation_level isolation = protocol::isolation_level::read_uncommitted,
                                 std::int32_t partition = 0, std::optional<std::int64_t> until = std::nullopt) {
  fetched out;
  for (int round = 0; round < 50; ++round) {
    protocol::fetch_request req;
    req.max_wait_ms = 200;
    req.min_bytes = 1;
    req.max_bytes = 4 << 20;
    req.isolation = isolation;
    protocol::fetch_request::topic t;
    t.topic = topic;
    t.partitions.push_back({partition, -1, offset, -1, -1, 1 << 20, {}});
    req.topics.push_back(std::move(t));
    const auto version = s.conn->versions().get(protocol::api_key::fetch);
    if (!version) return fail(std::move(version.error()));
    if (*version >= 13) {
      // Fetch v13+ names topics by id: look it up.
      protocol::metadata_request md;
      md.topics = std::vector<protocol::metadata_request::topic>{{{}, topic}};
      md.allow_auto_topic_creation = false;
      auto m = s.send(md);
      if (!m) return fail(std::move(m.error()));
      if (m->topics.size() != 1) return fail(errc::protocol, "metadata lacks the topic");
      req.topics[0].topic_id = m->topics[0].topic_id;
    }
    auto resp = s.send(req);
    if (!resp) return fail(std::move(resp.error()));
    if (resp->error_code != 0) return fail(errc::broker, "Fetch error " + std::to_string(resp->error_code));
    if (resp->responses.size() != 1 || resp->responses[0].partitions.size() != 1)
      return fail(errc::protocol, "Fetch response does not hold exactly our partition");
    out.partition = resp->responses[0].partitions[0];
    const auto& p = out.partition;
    if (p.error_code != 0) return fail(errc::broker, "Fetch partition error " + std::to_string(p.error_code));
    const std::int64_t end = until.value_or(p.high_watermark);
    if (!p.records || p.records->empty()) {
      if (offset >= end) break;
      continue;
    }
    auto split = protocol::split_batches(*p.records);
    if (!split) return fail(std::move(split.error()));
    for (auto& b : split->batches) {
      if (auto crc = protocol::check_batch_crc(b.bytes.view()); !crc) return fail(std::move(crc.error()));
      auto header = protocol::record_batch_header::parse(b.bytes.view());
      if (!header) return fail(std::move(header.error()));
      out.codecs.push_back(header->codec());
      auto set = protocol::read_records(b.bytes);
      if (!set) return fail(std::move(set.error()));
      for (const auto& r : set->records) {
        if (header->is_control()) {
          auto marker = protocol::parse_control_record(r);
          if (!marker) return fail(std::move(marker.error()));
          out.markers.push_back(*marker);
          out.marker_producers.push_back(header->producer_id());
          continue;
        }
        if (r.offset < offset) continue;
        plain_record pr;
        pr.offset = r.offset;
        if (r.key) pr.key = std::string(as_text(*r.key));
        if (r.value) pr.value = std::string(as_text(*r.value));
        for (const auto& h : r.headers)
          pr.headers.emplace_back(std::string(as_text(h.key)),
                                  h.value ? std::optional<std::string>(std::string(as_text(*h.value))) : std::nullopt);
        out.records.push_back(std::move(pr));
        out.timestamps.push_back(r.timestamp);
      }
      offset = std::max(offset, b.last_offset + 1);
      out.batches.push_back(std::move(b));
    }
    if (offset >= end) break;
  }
  return out;
}

}  // namespace kb::net::testing
