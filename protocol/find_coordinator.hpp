// FindCoordinator (key 10), versions 0..6: the broker coordinating a consumer group (or a
// transactional id). v4+ batches several keys in one request (KIP-699).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

/// FindCoordinatorRequest.KeyType (v1+).
enum class coordinator_type : std::int8_t { group = 0, transaction = 1, share = 2 };

struct find_coordinator_response {
  static constexpr api_key key = api_key::find_coordinator;

  struct coordinator {  // v4+
    std::string key;
    std::int32_t node_id = -1;
    std::string host;
    std::int32_t port = -1;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
  };

  std::int32_t throttle_time_ms = 0;        // v1+
  std::int16_t error_code = 0;              // v0-3
  std::optional<std::string> error_message; // v1-3
  std::int32_t node_id = -1;                // v0-3
  std::string host;                         // v0-3
  std::int32_t port = -1;                   // v0-3
  std::vector<coordinator> coordinators;    // v4+ (KIP-699)

  void encode(writer& w, std::int16_t version) const;
  static result<find_coordinator_response> decode(reader& r, std::int16_t version);
};

struct find_coordinator_request {
  static constexpr api_key key = api_key::find_coordinator;
  using response_type = find_coordinator_response;

  std::string key_value;  // v0-3, schema "Key" (`key` names the API)
  std::int8_t key_type = 0;                   // v1+ (coordinator_type)
  std::vector<std::string> coordinator_keys;  // v4+ (KIP-699)

  void encode(writer& w, std::int16_t version) const;
  static result<find_coordinator_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
