// DeleteRecords (key 21), versions 0..2: advances a partition's log start offset (used to
// empty a restore target before writing).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct delete_records_response {
  static constexpr api_key key = api_key::delete_records;

  struct partition {
    std::int32_t partition_index = 0;
    std::int64_t low_watermark = -1;
    std::int16_t error_code = 0;
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
  };

  std::int32_t throttle_time_ms = 0;
  std::vector<topic> topics;

  void encode(writer& w, std::int16_t version) const;
  static result<delete_records_response> decode(reader& r, std::int16_t version);
};

struct delete_records_request {
  static constexpr api_key key = api_key::delete_records;
  using response_type = delete_records_response;

  struct partition {
    std::int32_t partition_index = 0;
    std::int64_t offset = -1;  ///< delete before this offset; -1 = high watermark
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
  };

  std::vector<topic> topics;
  std::int32_t timeout_ms = 30000;

  void encode(writer& w, std::int16_t version) const;
  static result<delete_records_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
