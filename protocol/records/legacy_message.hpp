// Legacy (magic 0/1) Kafka message entries: parsing one entry and checking its CRC-32 (internal to protocol/records).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::protocol::record_wire {

/// One v0/v1 message entry: offset int64, size int32, crc uint32, magic int8, attributes int8,
/// [timestamp int64 in v1], key bytes, value bytes.
struct legacy_message {
  std::int64_t offset = 0;
  std::int8_t magic = 0;
  std::int8_t attributes = 0;
  std::int64_t timestamp = -1;
  std::uint32_t crc = 0;
  byte_view crc_covered;  // magic..end of message
  std::optional<byte_view> key;
  std::optional<byte_view> value;
  std::size_t entry_size = 0;  // 12 + size
};

/// Parses one complete legacy entry at the start of `in`; errc::corrupt when malformed.
[[nodiscard]] result<legacy_message> parse_legacy(byte_view in);
/// Whether the entry's CRC-32 (IEEE) over magic..end matches the stored one.
[[nodiscard]] bool legacy_crc_ok(const legacy_message& m) noexcept;

}  // namespace kb::protocol::record_wire
