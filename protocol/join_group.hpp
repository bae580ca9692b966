// JoinGroup (key 11), versions 2..9: a member joins a classic group (KIP-62 rebalance timeout,
// KIP-345 static membership, KIP-394 MEMBER_ID_REQUIRED); the leader's answer carries every
// member's protocol metadata.
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

struct join_group_response {
  static constexpr api_key key = api_key::join_group;

  struct member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+ (KIP-345)
    byte_vector metadata;
  };

  std::int32_t throttle_time_ms = 0;            // v2+
  std::int16_t error_code = 0;
  std::int32_t generation_id = -1;
  std::optional<std::string> protocol_type;     // v7+
  std::optional<std::string> protocol_name;     // nullable from v7
  std::string leader;
  bool skip_assignment = false;                 // v9+ (KIP-814)
  std::string member_id;
  std::vector<member> members;                  // filled for the leader only

  void encode(writer& w, std::int16_t version) const;
  static result<join_group_response> decode(reader& r, std::int16_t version);
};

struct join_group_request {
  static constexpr api_key key = api_key::join_group;
  using response_type = join_group_response;

  struct protocol {
    std::string name;
    byte_vector metadata;
  };

  std::string group_id;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = -1;        // v1+ (KIP-62)
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+ (KIP-345)
  std::string protocol_type;
  std::vector<protocol> protocols;
  std::optional<std::string> reason;             // v8+ (KIP-800)

  void encode(writer& w, std::int16_t version) const;
  static result<join_group_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
