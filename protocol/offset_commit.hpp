// OffsetCommit (key 8), versions 2..9: commits consumer-group offsets (restore of group
// positions). A standalone commit uses generation -1 and an empty member id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct offset_commit_response {
  static constexpr api_key key = api_key::offset_commit;

  struct partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
  };

  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<topic> topics;

  void encode(writer& w, std::int16_t version) const;
  static result<offset_commit_response> decode(reader& r, std::int16_t version);
};

struct offset_commit_request {
  static constexpr api_key key = api_key::offset_commit;
  using response_type = offset_commit_response;

  struct partition {
    std::int32_t partition_index = 0;
    std::int64_t committed_offset = 0;
    std::int32_t committed_leader_epoch = -1;  // v6+ (KIP-320)
    std::optional<std::string> committed_metadata;
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
  };

  std::string group_id;
  std::int32_t generation_id_or_member_epoch = -1;  // v1+
  std::string member_id;                            // v1+
  std::optional<std::string> group_instance_id;     // v7+ (KIP-345)
  std::int64_t retention_time_ms = -1;              // v2-4
  std::vector<topic> topics;

  void encode(writer& w, std::int16_t version) const;
  static result<offset_commit_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
