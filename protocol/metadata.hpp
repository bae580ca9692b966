// Metadata (key 3): brokers, controller, and per topic the partitions with their leaders and
// leader epochs. v1+ (null topics = all topics); flexible from v9 (KIP-482).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

inline constexpr std::int32_t authorized_operations_unknown = std::numeric_limits<std::int32_t>::min();

struct metadata_response {
  static constexpr api_key key = api_key::metadata;

  struct broker {
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;  // v1+
  };
  struct partition {
    std::int16_t error_code = 0;
    std::int32_t partition_index = 0;
    std::int32_t leader_id = 0;
    std::int32_t leader_epoch = -1;         // v7+ (KIP-320)
    std::vector<std::int32_t> replica_nodes;
    std::vector<std::int32_t> isr_nodes;
    std::vector<std::int32_t> offline_replicas;  // v5+
  };
  struct topic {
    std::int16_t error_code = 0;
    std::optional<std::string> name;  // nullable v12+ (a topic asked for by id)
    uuid topic_id;                    // v10+ (KIP-516)
    bool is_internal = false;         // v1+
    std::vector<partition> partitions;
    std::int32_t topic_authorized_operations = authorized_operations_unknown;  // v8+ (KIP-430)
  };

  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<broker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  std::int32_t controller_id = -1;        // v1+
  std::vector<topic> topics;
  std::int32_t cluster_authorized_operations = authorized_operations_unknown;  // v8-10
  std::int16_t error_code = 0;  // v13+ (KIP-1102)

  void encode(writer& w, std::int16_t version) const;
  static result<metadata_response> decode(reader& r, std::int16_t version);
};

struct metadata_request {
  static constexpr api_key key = api_key::metadata;
  using response_type = metadata_response;

  struct topic {
    uuid topic_id;                    // v10+ (KIP-516)
    std::optional<std::string> name;  // nullable v10+
  };

  std::optional<std::vector<topic>> topics;  ///< nullopt = all topics (v1+)
  bool allow_auto_topic_creation = true;     // v4+
  bool include_cluster_authorized_operations = false;  // v8-10
  bool include_topic_authorized_operations = false;    // v8+ (KIP-430)

  void encode(writer& w, std::int16_t version) const;
  static result<metadata_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
