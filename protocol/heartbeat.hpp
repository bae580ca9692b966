// Heartbeat (key 12), versions 0..4: keeps a classic group member alive between rebalances;
// REBALANCE_IN_PROGRESS in the answer tells it to join again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct heartbeat_response {
  static constexpr api_key key = api_key::heartbeat;

  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;

  void encode(writer& w, std::int16_t version) const;
  static result<heartbeat_response> decode(reader& r, std::int16_t version);
};

struct heartbeat_request {
  static constexpr api_key key = api_key::heartbeat;
  using response_type = heartbeat_response;

  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+ (KIP-345)

  void encode(writer& w, std::int16_t version) const;
  static result<heartbeat_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
