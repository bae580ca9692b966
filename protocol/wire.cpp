#include "protocol/wire.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace kb::protocol {
namespace {

class wire_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kafka-wire"; }
  std::string message(int value) const override {
    switch (static_cast<wire_errc>(value)) {
      case wire_errc::need_more: return "truncated Kafka message (need more bytes)";
      case wire_errc::malformed: return "malformed Kafka message";
    }
    return "unknown wire error";
  }
};

std::uint32_t zigzag32(std::int32_t v) noexcept {
  return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}
std::uint64_t zigzag64(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

}  // namespace

const std::error_category& wire_category() noexcept {
  static const wire_error_category category;
  return category;
}

bool uuid::is_zero() const noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

// ---------------------------------------------------------------------------------------------
// writer

void writer::write_float64(double v) { put_be(std::bit_cast<std::uint64_t>(v), 8); }

void writer::write_uvarint(std::uint32_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<std::uint8_t>(v));
}

void writer::write_varint(std::int32_t v) { write_uvarint(zigzag32(v)); }

void writer::write_varlong(std::int64_t v) {
  std::uint64_t u = zigzag64(v);
  while (u >= 0x80) {
    buf_.push_back(static_cast<std::uint8_t>(u | 0x80));
    u >>= 7;
  }
  buf_.push_back(static_cast<std::uint8_t>(u));
}

bool writer::fits(std::size_t n, std::size_t max, std::string_view type) {
  if (n <= max) return true;
  if (!failure_) failure_ = fmt::format("a {} of {} bytes exceeds the {} bytes its length field holds", type, n, max);
  return false;
}

result<void> writer::status(std::string_view what) const {
  if (!failure_) return {};
  return fail(errc::invalid_argument, fmt::format("{}: {}", what, *failure_));
}

void writer::write_string(std::string_view s) {
  // A cast to int16 would send a wrong length and misframe everything after it.
  if (!fits(s.size(), max_string_bytes, "STRING")) return;
  write_int16(static_cast<std::int16_t>(s.size()));
  write_raw(as_bytes(s));
}

void writer::write_nullable_string(const std::optional<std::string>& s) {
  if (!s) {
    write_int16(-1);
    return;
  }
  write_string(*s);
}

void writer::write_compact_string(std::string_view s) {
  if (!fits(s.size(), max_string_bytes, "COMPACT_STRING")) return;
  write_uvarint(static_cast<std::uint32_t>(s.size() + 1));
  write_raw(as_bytes(s));
}

void writer::write_compact_nullable_string(const std::optional<std::string>& s) {
  if (!s) {
    write_uvarint(0);
    return;
  }
  write_compact_string(*s);
}

void writer::write_bytes(byte_view b) {
  if (!fits(b.size(), static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), "BYTES")) return;
  write_int32(static_cast<std::int32_t>(b.size()));
  write_raw(b);
}

void writer::write_nullable_bytes(std::optional<byte_view> b) {
  if (!b) {
    write_int32(-1);
    return;
  }
  if (!fits(b->size(), static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), "BYTES")) return;
  write_int32(static_cast<std::int32_t>(b->size()));
  write_borrowable(*b);
}

void writer::write_compact_bytes(byte_view b) {
  if (!fits(b.size(), static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()) - 1, "COMPACT_BYTES")) return;
  write_uvarint(static_cast<std::uint32_t>(b.size() + 1));
  write_raw(b);
}

void writer::write_compact_nullable_bytes(std::optional<byte_view> b) {
  if (!b) {
    write_uvarint(0);
    return;
  }
  if (!fits(b->size(), static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()) - 1, "COMPACT_BYTES")) return;
  write_uvarint(static_cast<std::uint32_t>(b->size() + 1));
  write_borrowable(*b);
}

void writer::write_borrowable(byte_view b) {
  if (!borrow_) {
    write_raw(b);
    return;
  }
  if (b.empty()) return;
  splices_.push_back({buf_.size(), b});
  borrowed_size_ += b.size();
}

void writer::write_array_length(std::size_t n, bool compact) {
  if (compact) {
    write_uvarint(static_cast<std::uint32_t>(n + 1));
  } else {
    write_int32(static_cast<std::int32_t>(n));
  }
}

void writer::write_null_array(bool compact) {
  if (compact) {
    write_uvarint(0);
  } else {
    write_int32(-1);
  }
}

void writer::write_tagged_field(std::uint32_t tag, byte_view data) {
  write_uvarint(tag);
  write_uvarint(static_cast<std::uint32_t>(data.size()));
  write_raw(data);
}

void writer::patch_uint32(std::size_t at, std::uint32_t v) {
  buf_[at] = static_cast<std::uint8_t>(v >> 24);
  buf_[at + 1] = static_cast<std::uint8_t>(v >> 16);
  buf_[at + 2] = static_cast<std::uint8_t>(v >> 8);
  buf_[at + 3] = static_cast<std::uint8_t>(v);
}

// ---------------------------------------------------------------------------------------------
// reader

std::uint64_t reader::get_be(int width) noexcept {
  if (!need(static_cast<std::size_t>(width))) return 0;
  std::uint64_t v = 0;
  const std::uint8_t* p = buf_.data() + pos_;
  for (int i = 0; i < width; ++i) v = (v << 8) | p[i];
  pos_ += static_cast<std::size_t>(width);
  return v;
}

std::int8_t reader::read_int8() { return static_cast<std::int8_t>(get_be(1)); }
bool reader::read_bool() { return get_be(1) != 0; }
std::int16_t reader::read_int16() { return static_cast<std::int16_t>(get_be(2)); }
std::int32_t reader::read_int32() { return static_cast<std::int32_t>(get_be(4)); }
std::uint32_t reader::read_uint32() { return static_cast<std::uint32_t>(get_be(4)); }
std::int64_t reader::read_int64() { return static_cast<std::int64_t>(get_be(8)); }
double reader::read_float64() { return std::bit_cast<double>(get_be(8)); }

std::uint32_t reader::read_uvarint() {
  std::uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1)) return 0;
    const std::uint8_t b = buf_.data()[pos_++];
    if (shift == 28 && (b & 0xf0) != 0) {  // more than 32 bits
      fail(wire_errc::malformed);
      return 0;
    }
    v |= static_cast<std::uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  fail(wire_errc::malformed);
  return 0;
}

std::int32_t reader::read_varint() {
  const std::uint32_t u = read_uvarint();
  return static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

std::int64_t reader::read_varlong() {
  std::uint64_t u = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!need(1)) return 0;
    const std::uint8_t b = buf_.data()[pos_++];
    if (shift == 63 && (b & 0xfe) != 0) {  // more than 64 bits
      fail(wire_errc::malformed);
      return 0;
    }
    u |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  fail(wire_errc::malformed);
  return 0;
}

std::optional<std::size_t> reader::read_length(bool compact, bool nullable) {
  std::int64_t n = 0;
  if (compact) {
    n = static_cast<std::int64_t>(read_uvarint()) - 1;
  } else {
    n = read_int16();
  }
  if (!ok()) return std::size_t{0};
  if (n < 0) {
    if (n == -1 && nullable) return std::nullopt;
    fail(wire_errc::malformed);
    return std::size_t{0};
  }
  return static_cast<std::size_t>(n);
}

shared_bytes reader::read_raw(std::size_t n) {
  if (!need(n)) return {};
  shared_bytes out = buf_.slice(pos_, n);
  pos_ += n;
  return out;
}

std::string reader::read_string() {
  const auto n = read_length(false, false);
  const shared_bytes s = read_raw(n.value_or(0));
  return std::string(as_text(s.view()));
}

std::optional<std::string> reader::read_nullable_string() {
  const auto n = read_length(false, true);
  if (!n) return std::nullopt;
  const shared_bytes s = read_raw(*n);
  return std::string(as_text(s.view()));
}

std::string reader::read_compact_string() {
  const auto n = read_length(true, false);
  const shared_bytes s = read_raw(n.value_or(0));
  return std::string(as_text(s.view()));
}

std::optional<std::string> reader::read_compact_nullable_string() {
  const auto n = read_length(true, true);
  if (!n) return std::nullopt;
  const shared_bytes s = read_raw(*n);
  return std::string(as_text(s.view()));
}

shared_bytes reader::read_bytes() {
  const std::int32_t n = read_int32();
  if (n < 0) {
    fail(wire_errc::malformed);
    return {};
  }
  return read_raw(static_cast<std::size_t>(n));
}

std::optional<shared_bytes> reader::read_nullable_bytes() {
  const std::int32_t n = read_int32();
  if (!ok()) return shared_bytes{};
  if (n == -1) return std::nullopt;
  if (n < 0) {
    fail(wire_errc::malformed);
    return shared_bytes{};
  }
  return read_raw(static_cast<std::size_t>(n));
}

shared_bytes reader::read_compact_bytes() {
  const auto n = read_length(true, false);
  return read_raw(n.value_or(0));
}

std::optional<shared_bytes> reader::read_compact_nullable_bytes() {
  const auto n = read_length(true, true);
  if (!n) return std::nullopt;
  return read_raw(*n);
}

uuid reader::read_uuid() {
  uuid id;
  if (!need(16)) return id;
  std::memcpy(id.bytes.data(), buf_.data() + pos_, 16);
  pos_ += 16;
  return id;
}

std::int32_t reader::read_array_length(bool compact) {
  std::int64_t n = 0;
  if (compact) {
    n = static_cast<std::int64_t>(read_uvarint()) - 1;
  } else {
    n = read_int32();
  }
  if (!ok()) return 0;
  if (n < -1) {
    fail(wire_errc::malformed);
    return 0;
  }
  if (n > 0 && static_cast<std::uint64_t>(n) > remaining()) {
    fail(wire_errc::need_more);  // each element takes at least one byte
    return 0;
  }
  return static_cast<std::int32_t>(n);
}

error reader::to_error(std::string_view what) const {
  const wire_errc e = status().value_or(wire_errc::malformed);
  return error{make_error_code(e),
               fmt::format("{} while decoding {} at byte {} of {}: the broker sent bytes this "
                           "client cannot parse (check the negotiated API version)",
                           e == wire_errc::need_more ? "input ended early" : "malformed input",
                           what, pos_, buf_.size())};
}

}  // namespace kb::protocol
