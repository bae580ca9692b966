// LeaveGroup (key 13), versions 0..5: a member leaves at once instead of waiting out its
// session; v3+ names members in a batch with their static instance ids (KIP-345).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct leave_group_response {
  static constexpr api_key key = api_key::leave_group;

  struct member {  // v3+
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::int16_t error_code = 0;
  };

  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<member> members;        // v3+

  void encode(writer& w, std::int16_t version) const;
  static result<leave_group_response> decode(reader& r, std::int16_t version);
};

struct leave_group_request {
  static constexpr api_key key = api_key::leave_group;
  using response_type = leave_group_response;

  struct member {  // v3+
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::optional<std::string> reason;  // v5+ (KIP-800)
  };

  std::string group_id;
  std::string member_id;         // v0-2
  std::vector<member> members;   // v3+

  void encode(writer& w, std::int16_t version) const;
  static result<leave_group_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
