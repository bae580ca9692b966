// DescribeConfigs (key 32), versions 1..4: topic and broker configuration (backup records
// each topic's non-default configs so restore can recreate it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

/// ConfigResource type codes.
enum class config_resource_type : std::int8_t { unknown = 0, topic = 2, broker = 4, broker_logger = 8 };

struct describe_configs_response {
  static constexpr api_key key = api_key::describe_configs;

  struct synonym {  // v1+ (KIP-226)
    std::string name;
    std::optional<std::string> value;
    std::int8_t source = 0;
  };
  struct config {
    std::string name;
    std::optional<std::string> value;  ///< null for sensitive values
    bool read_only = false;
    std::int8_t config_source = -1;  // v1+
    bool is_sensitive = false;
    std::vector<synonym> synonyms;   // v1+
    std::int8_t config_type = 0;     // v3+ (KIP-569)
    std::optional<std::string> documentation;  // v3+
  };
  struct result_entry {  // schema "Results[]"
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::vector<config> configs;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<result_entry> results;

  void encode(writer& w, std::int16_t version) const;
  static kb::result<describe_configs_response> decode(reader& r, std::int16_t version);
};

struct describe_configs_request {
  static constexpr api_key key = api_key::describe_configs;
  using response_type = describe_configs_response;

  struct resource {
    std::int8_t resource_type = static_cast<std::int8_t>(config_resource_type::topic);
    std::string resource_name;
    std::optional<std::vector<std::string>> configuration_keys;  ///< nullopt = all
  };

  std::vector<resource> resources;
  bool include_synonyms = false;       // v1+ (KIP-226)
  bool include_documentation = false;  // v3+ (KIP-569)

  void encode(writer& w, std::int16_t version) const;
  static kb::result<describe_configs_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
