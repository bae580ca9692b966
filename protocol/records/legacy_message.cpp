// Legacy (magic 0/1) Kafka message entries: parsing one entry and checking its CRC-32.
#include "protocol/records/legacy_message.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include "protocol/records/record_wire.hpp"

namespace kb::protocol::record_wire {

namespace {

bool read_legacy_bytes(byte_view in, std::size_t& pos, std::optional<byte_view>& out) noexcept {
  if (in.size() - pos < 4) return false;
  const auto len = get_be<std::int32_t>(in.data() + pos);
  pos += 4;
  if (len < -1) return false;
  if (len == -1) {
    out.reset();
    return true;
  }
  if (static_cast<std::size_t>(len) > in.size() - pos) return false;
  out = in.subspan(pos, static_cast<std::size_t>(len));
  pos += static_cast<std::size_t>(len);
  return true;
}

}  // namespace

result<legacy_message> parse_legacy(byte_view in) {
  if (in.size() < batch_log_overhead + 5) return corrupt("legacy message entry is truncated");
  legacy_message m;
  m.offset = get_be<std::int64_t>(in.data());
  const auto size = get_be<std::int32_t>(in.data() + 8);
  if (size < 0 || static_cast<std::size_t>(size) > in.size() - batch_log_overhead) {
    return corrupt("legacy message size exceeds the data");
  }
  m.entry_size = batch_log_overhead + static_cast<std::size_t>(size);
  const byte_view msg = in.subspan(batch_log_overhead, static_cast<std::size_t>(size));
  m.crc = get_be<std::uint32_t>(msg.data());
  m.magic = static_cast<std::int8_t>(msg[4]);
  if (m.magic != 0 && m.magic != 1) return corrupt(fmt::format("legacy message has magic {}", m.magic));
  const std::size_t min = m.magic == 0 ? legacy_min_size_v0 : legacy_min_size_v1;
  if (msg.size() < min) return corrupt("legacy message is shorter than its fixed fields");
  m.crc_covered = msg.subspan(4);
  m.attributes = static_cast<std::int8_t>(msg[5]);
  std::size_t pos = 6;
  if (m.magic == 1) {
    m.timestamp = get_be<std::int64_t>(msg.data() + pos);
    pos += 8;
  }
  if (!read_legacy_bytes(msg, pos, m.key) || !read_legacy_bytes(msg, pos, m.value)) {
    return corrupt("legacy message key or value length exceeds the message");
  }
  if (pos != msg.size()) return corrupt("legacy message has trailing bytes");
  return m;
}

bool legacy_crc_ok(const legacy_message& m) noexcept {
  const auto c = crc32(0L, m.crc_covered.data(), static_cast<uInt>(m.crc_covered.size()));
  return static_cast<std::uint32_t>(c) == m.crc;
}

}  // namespace kb::protocol::record_wire
