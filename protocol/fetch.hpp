// Fetch (key 1), versions 4..17: reads record batches from partition leaders. Records come
// back as zero-copy slices of the response buffer (kb::shared_bytes); nothing per record is
// decoded here. Topics are named up to v12 and identified by topic id from v13 (KIP-516).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

/// FetchRequest.IsolationLevel (v4+, KIP-98).
enum class isolation_level : std::int8_t { read_uncommitted = 0, read_committed = 1 };

struct fetch_response {
  static constexpr api_key key = api_key::fetch;

  struct aborted_transaction {
    std::int64_t producer_id = 0;
    std::int64_t first_offset = 0;
  };
  struct epoch_end_offset {  // tag 0 (KIP-595)
    std::int32_t epoch = -1;
    std::int64_t end_offset = -1;
  };
  struct leader_id_and_epoch {  // tag 1 (KIP-951)
    std::int32_t leader_id = -1;
    std::int32_t leader_epoch = -1;
  };
  struct snapshot_id_data {  // tag 2 (KIP-595)
    std::int64_t end_offset = -1;
    std::int32_t epoch = -1;
  };
  struct partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::int64_t high_watermark = 0;
    std::int64_t last_stable_offset = -1;  // v4+ (KIP-98)
    std::int64_t log_start_offset = -1;    // v5+ (KIP-107)
    std::optional<epoch_end_offset> diverging_epoch;     // tagged, v12+
    std::optional<leader_id_and_epoch> current_leader;   // tagged, v12+
    std::optional<snapshot_id_data> snapshot_id;          // tagged, v12+
    std::optional<std::vector<aborted_transaction>> aborted_transactions;  // v4+
    std::int32_t preferred_read_replica = -1;  // v11+ (KIP-392)
    std::optional<shared_bytes> records;       ///< zero-copy slice; may end in a partial batch
  };
  struct topic {
    std::string topic;  // v0-12
    uuid topic_id;      // v13+ (KIP-516)
    std::vector<partition> partitions;
  };
  struct node_endpoint {  // v16+ tagged (KIP-951)
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;
  };

  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;        // v7+ (KIP-227)
  std::int32_t session_id = 0;        // v7+
  std::vector<topic> responses;
  std::vector<node_endpoint> node_endpoints;  // tag 0, v16+

  void encode(writer& w, std::int16_t version) const;
  static result<fetch_response> decode(reader& r, std::int16_t version);
};

struct fetch_request {
  static constexpr api_key key = api_key::fetch;
  using response_type = fetch_response;

  struct replica_state_data {  // v15+ tagged (KIP-903)
    std::int32_t replica_id = -1;
    std::int64_t replica_epoch = -1;
  };
  struct partition {
    std::int32_t partition = 0;
    std::int32_t current_leader_epoch = -1;  // v9+ (KIP-320)
    std::int64_t fetch_offset = 0;
    std::int32_t last_fetched_epoch = -1;    // v12+ (KIP-595)
    std::int64_t log_start_offset = -1;      // v5+
    std::int32_t partition_max_bytes = 0;
    std::optional<uuid> replica_directory_id;  // tag 0, v17+ (KIP-853)
  };
  struct topic {
    std::string topic;  // v0-12
    uuid topic_id;      // v13+ (KIP-516)
    std::vector<partition> partitions;
  };
  struct forgotten_topic {  // v7+ (KIP-227)
    std::string topic;  // v7-12
    uuid topic_id;      // v13+
    std::vector<std::int32_t> partitions;
  };

  std::optional<std::string> cluster_id;       // tag 0, v12+ (KIP-595)
  std::int32_t replica_id = -1;                // v0-14; consumers send -1
  std::optional<replica_state_data> replica_state;  // tag 1, v15+
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = 0x7fffffff;         // v3+ (KIP-74)
  isolation_level isolation = isolation_level::read_uncommitted;  // v4+ ("IsolationLevel")
  std::int32_t session_id = 0;                 // v7+ (KIP-227); 0 = no session
  std::int32_t session_epoch = -1;             // v7+; -1 = full fetch, no session
  std::vector<topic> topics;
  std::vector<forgotten_topic> forgotten_topics_data;  // v7+
  std::string rack_id;                         // v11+ (KIP-392)

  void encode(writer& w, std::int16_t version) const;
  static result<fetch_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
