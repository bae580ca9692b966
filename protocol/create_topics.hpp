// CreateTopics (key 19), versions 2..7: creates topics on the controller (restore to a new
// cluster). v5+ returns the resulting configs (KIP-525), v7+ the topic id (KIP-516).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct create_topics_response {
  static constexpr api_key key = api_key::create_topics;

  struct config {  // v5+
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    std::int8_t config_source = -1;
    bool is_sensitive = false;
  };
  struct topic {
    std::string name;
    uuid topic_id;                              // v7+ (KIP-516)
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;   // v1+
    std::optional<std::int16_t> topic_config_error_code;  // tag 0, v5+
    std::int32_t num_partitions = -1;           // v5+ (KIP-525)
    std::int16_t replication_factor = -1;       // v5+
    std::optional<std::vector<config>> configs; // v5+
  };

  std::int32_t throttle_time_ms = 0;  // v2+
  std::vector<topic> topics;

  void encode(writer& w, std::int16_t version) const;
  static result<create_topics_response> decode(reader& r, std::int16_t version);
};

struct create_topics_request {
  static constexpr api_key key = api_key::create_topics;
  using response_type = create_topics_response;

  struct assignment {
    std::int32_t partition_index = 0;
    std::vector<std::int32_t> broker_ids;
  };
  struct config {
    std::string name;
    std::optional<std::string> value;
  };
  struct topic {
    std::string name;
    std::int32_t num_partitions = -1;      ///< -1: broker default (KIP-464, v4+)
    std::int16_t replication_factor = -1;  ///< -1: broker default (KIP-464, v4+)
    std::vector<assignment> assignments;
    std::vector<config> configs;
  };

  std::vector<topic> topics;
  std::int32_t timeout_ms = 30000;
  bool validate_only = false;  // v1+

  void encode(writer& w, std::int16_t version) const;
  static result<create_topics_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
