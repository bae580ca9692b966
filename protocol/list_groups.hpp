// ListGroups (key 16), versions 0..5: the groups a broker coordinates; v4+ filters by state
// (KIP-518), v5+ by type (KIP-848).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct list_groups_response {
  static constexpr api_key key = api_key::list_groups;

  struct group {
    std::string group_id;
    std::string protocol_type;
    std::string group_state;  // v4+
    std::string group_type;   // v5+
  };

  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<group> groups;

  void encode(writer& w, std::int16_t version) const;
  static result<list_groups_response> decode(reader& r, std::int16_t version);
};

struct list_groups_request {
  static constexpr api_key key = api_key::list_groups;
  using response_type = list_groups_response;

  std::vector<std::string> states_filter;  // v4+ (KIP-518)
  std::vector<std::string> types_filter;   // v5+ (KIP-848)

  void encode(writer& w, std::int16_t version) const;
  static result<list_groups_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
