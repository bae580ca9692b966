// Kafka record-batch wire details shared by the header view, the reader and the builder
// (internal to protocol/records): big-endian fields, header offsets and attribute bits, varints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/records/record_batch.hpp"

namespace kb::protocol::record_wire {

// ---- big-endian fixed-width fields --------------------------------------------------------

template <class T>
T get_be(const std::uint8_t* p) noexcept {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<U>((v << 8) | p[i]);
  return static_cast<T>(v);
}

template <class T>
void set_be(std::uint8_t* p, T value) noexcept {
  using U = std::make_unsigned_t<T>;
  auto v = static_cast<U>(value);
  for (std::size_t i = sizeof(T); i-- > 0;) {
    p[i] = static_cast<std::uint8_t>(v & 0xFFu);
    v = static_cast<U>(v >> 8);
  }
}

template <class T>
void put_be(byte_vector& out, T value) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  set_be(out.data() + at, value);
}

// v2 header field offsets.
constexpr std::size_t off_base_offset = 0;
constexpr std::size_t off_batch_length = 8;
constexpr std::size_t off_leader_epoch = 12;
constexpr std::size_t off_last_offset_delta = 23;
constexpr std::size_t off_base_timestamp = 27;
constexpr std::size_t off_max_timestamp = 35;
constexpr std::size_t off_producer_id = 43;
constexpr std::size_t off_producer_epoch = 51;
constexpr std::size_t off_base_sequence = 53;
constexpr std::size_t off_records_count = 57;

constexpr std::int16_t attr_codec_mask = 0x07;
constexpr std::int16_t attr_timestamp_type = 0x08;
constexpr std::int16_t attr_transactional = 0x10;
constexpr std::int16_t attr_control = 0x20;
constexpr std::int16_t attr_delete_horizon = 0x40;

// Legacy (magic 0/1) message layout: offset int64, size int32, crc uint32, magic int8,
// attributes int8, [timestamp int64 in v1], key bytes, value bytes.
constexpr std::size_t legacy_min_size_v0 = 4 + 1 + 1 + 4 + 4;  // size field counts from crc
constexpr std::size_t legacy_min_size_v1 = legacy_min_size_v0 + 8;
constexpr std::int8_t legacy_attr_codec_mask = 0x07;
constexpr std::int8_t legacy_attr_timestamp_type = 0x08;

inline tl::unexpected<error> corrupt(std::string what) {
  return fail(errc::corrupt, "record batch is malformed: " + what);
}

// ---- zig-zag varints (Kafka's record fields) ------------------------------------------------

class varint_reader {
 public:
  varint_reader() noexcept = default;
  explicit varint_reader(byte_view in) noexcept : in_(in) {}

  /// An unsigned base-128 varint of at most `max_bytes` bytes.
  bool read_uvarlong(std::uint64_t& out, int max_bytes = 10) noexcept {
    std::uint64_t raw = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (pos_ >= in_.size()) return false;
      const std::uint8_t b = in_[pos_++];
      raw |= std::uint64_t{b & 0x7Fu} << (7 * i);
      if ((b & 0x80u) == 0) {
        out = raw;
        return true;
      }
    }
    return false;
  }
  /// A zig-zag varint (Kafka's signed varlong).
  bool read_varlong(std::int64_t& out, int max_bytes = 10) noexcept {
    std::uint64_t raw = 0;
    if (!read_uvarlong(raw, max_bytes)) return false;
    out = static_cast<std::int64_t>(raw >> 1) ^ -static_cast<std::int64_t>(raw & 1u);
    return true;
  }
  bool read_varint(std::int32_t& out) noexcept {
    std::int64_t v = 0;
    if (!read_varlong(v, 5)) return false;
    if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) return false;
    out = static_cast<std::int32_t>(v);
    return true;
  }
  bool read_uint8(std::uint8_t& out) noexcept {
    if (pos_ >= in_.size()) return false;
    out = in_[pos_++];
    return true;
  }
  bool read_int8(std::int8_t& out) noexcept {
    std::uint8_t b = 0;
    if (!read_uint8(b)) return false;
    out = static_cast<std::int8_t>(b);
    return true;
  }
  bool read_bytes(std::size_t n, byte_view& out) noexcept {
    if (n > in_.size() - pos_) return false;
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // Length-prefixed (varint) nullable bytes.
  bool read_nullable(std::optional<byte_view>& out) noexcept {
    std::int32_t len = 0;
    if (!read_varint(len) || len < -1) return false;
    if (len == -1) {
      out.reset();
      return true;
    }
    byte_view b;
    if (!read_bytes(static_cast<std::size_t>(len), b)) return false;
    out = b;
    return true;
  }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }
  [[nodiscard]] bool done() const noexcept { return pos_ == in_.size(); }

 private:
  byte_view in_;
  std::size_t pos_ = 0;
};

inline std::size_t varlong_size(std::int64_t v) noexcept {
  std::uint64_t z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  std::size_t n = 1;
  while (z >= 0x80u) {
    z >>= 7;
    ++n;
  }
  return n;
}

inline void put_uvarlong(byte_vector& out, std::uint64_t v) {
  while (v >= 0x80u) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80u));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

inline void put_varlong(byte_vector& out, std::int64_t v) {
  put_uvarlong(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

inline std::size_t nullable_size(const std::optional<byte_view>& b) noexcept {
  return b ? varlong_size(static_cast<std::int64_t>(b->size())) + b->size() : varlong_size(-1);
}

inline void put_nullable(byte_vector& out, const std::optional<byte_view>& b) {
  if (!b) {
    put_varlong(out, -1);
    return;
  }
  put_varlong(out, static_cast<std::int64_t>(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

inline std::int8_t magic_of(byte_view batch) noexcept {
  return static_cast<std::int8_t>(batch[batch_magic_offset]);
}

}  // namespace kb::protocol::record_wire
