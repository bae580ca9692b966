// OffsetFetch (key 9), versions 1..9: committed offsets of consumer groups. Up to v7 one group
// per request; v8+ several groups (KIP-709); v9 adds member id/epoch (KIP-848).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct offset_fetch_response {
  static constexpr api_key key = api_key::offset_fetch;

  struct partition {
    std::int32_t partition_index = 0;
    std::int64_t committed_offset = -1;
    std::int32_t committed_leader_epoch = -1;  // v5+ (KIP-320)
    std::optional<std::string> metadata;
    std::int16_t error_code = 0;
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
  };
  struct group {  // v8+
    std::string group_id;
    std::vector<topic> topics;
    std::int16_t error_code = 0;
  };

  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<topic> topics;          // v0-7
  std::int16_t error_code = 0;        // v2-7
  std::vector<group> groups;          // v8+ (KIP-709)

  void encode(writer& w, std::int16_t version) const;
  static result<offset_fetch_response> decode(reader& r, std::int16_t version);
};

struct offset_fetch_request {
  static constexpr api_key key = api_key::offset_fetch;
  using response_type = offset_fetch_response;

  struct topic {
    std::string name;
    std::vector<std::int32_t> partition_indexes;
  };
  struct group {  // v8+
    std::string group_id;
    std::optional<std::string> member_id;  // v9+ (KIP-848)
    std::int32_t member_epoch = -1;        // v9+
    std::optional<std::vector<topic>> topics;  ///< nullopt = all committed partitions
  };

  std::string group_id;                      // v0-7
  std::optional<std::vector<topic>> topics;  // v0-7; null (all) from v2
  std::vector<group> groups;                 // v8+ (KIP-709)
  bool require_stable = false;               // v7+ (KIP-447)

  void encode(writer& w, std::int16_t version) const;
  static result<offset_fetch_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
