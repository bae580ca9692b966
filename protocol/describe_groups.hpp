// DescribeGroups (key 15), versions 0..5: state, protocol and members of consumer groups.
// Member metadata/assignment are small opaque blobs (consumer protocol), copied out.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct describe_groups_response {
  static constexpr api_key key = api_key::describe_groups;

  struct member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v4+ (KIP-345)
    std::string client_id;
    std::string client_host;
    byte_vector member_metadata;
    byte_vector member_assignment;
  };
  struct group {
    std::int16_t error_code = 0;
    std::string group_id;
    std::string group_state;
    std::string protocol_type;
    std::string protocol_data;
    std::vector<member> members;
    std::int32_t authorized_operations = std::numeric_limits<std::int32_t>::min();  // v3+
  };

  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<group> groups;

  void encode(writer& w, std::int16_t version) const;
  static result<describe_groups_response> decode(reader& r, std::int16_t version);
};

struct describe_groups_request {
  static constexpr api_key key = api_key::describe_groups;
  using response_type = describe_groups_response;

  std::vector<std::string> groups;
  bool include_authorized_operations = false;  // v3+ (KIP-430)

  void encode(writer& w, std::int16_t version) const;
  static result<describe_groups_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
