// ListOffsets (key 2), versions 1..9: the offset for a timestamp per partition, or the
// earliest (-2) / latest (-1) / max-timestamp (-3, KIP-734) offsets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

inline constexpr std::int64_t latest_timestamp = -1;
inline constexpr std::int64_t earliest_timestamp = -2;

struct list_offsets_response {
  static constexpr api_key key = api_key::list_offsets;

  struct partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::int64_t timestamp = -1;    // v1+
    std::int64_t offset = -1;       // v1+
    std::int32_t leader_epoch = -1; // v4+ (KIP-320)
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
  };

  std::int32_t throttle_time_ms = 0;  // v2+
  std::vector<topic> topics;

  void encode(writer& w, std::int16_t version) const;
  static result<list_offsets_response> decode(reader& r, std::int16_t version);
};

struct list_offsets_request {
  static constexpr api_key key = api_key::list_offsets;
  using response_type = list_offsets_response;

  struct partition {
    std::int32_t partition_index = 0;
    std::int32_t current_leader_epoch = -1;  // v4+ (KIP-320)
    std::int64_t timestamp = latest_timestamp;
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
  };

  std::int32_t replica_id = -1;
  std::int8_t isolation_level = 0;  // v2+ (KIP-98): 1 = read committed (latest = LSO)
  std::vector<topic> topics;

  void encode(writer& w, std::int16_t version) const;
  static result<list_offsets_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
