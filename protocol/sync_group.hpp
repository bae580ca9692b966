// SyncGroup (key 14), versions 0..5: the leader hands out the assignments of a generation;
// every member receives its own.
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

struct sync_group_response {
  static constexpr api_key key = api_key::sync_group;

  std::int32_t throttle_time_ms = 0;         // v1+
  std::int16_t error_code = 0;
  std::optional<std::string> protocol_type;  // v5+
  std::optional<std::string> protocol_name;  // v5+
  byte_vector assignment;

  void encode(writer& w, std::int16_t version) const;
  static result<sync_group_response> decode(reader& r, std::int16_t version);
};

struct sync_group_request {
  static constexpr api_key key = api_key::sync_group;
  using response_type = sync_group_response;

  struct member_assignment {
    std::string member_id;
    byte_vector assignment;
  };

  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+ (KIP-345)
  std::optional<std::string> protocol_type;      // v5+
  std::optional<std::string> protocol_name;      // v5+
  std::vector<member_assignment> assignments;    // the leader's only

  void encode(writer& w, std::int16_t version) const;
  static result<sync_group_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
