// Little-endian field writing and bounds-checked reading for the `.kbs` layout (internal to storage/format).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/bytes.hpp"

namespace kb::storage::format::detail {

class writer {
 public:
  explicit writer(byte_vector& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i16(std::int16_t v) { u16(static_cast<std::uint16_t>(v)); }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  // resize + memcpy rather than vector::insert: g++ 12 -O3 reports a false
  // -Wstringop-overflow on the inlined range insert.
  void bytes(byte_view b) {
    if (b.empty()) return;
    const auto at = out_.size();
    out_.resize(at + b.size());
    std::memcpy(out_.data() + at, b.data(), b.size());
  }
  void bytes(std::string_view s) { bytes(as_bytes(s)); }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  byte_vector& out_;
};

/// Reads fields in order; the caller checked the total length up front, so running past the
/// end here is a bug in the size arithmetic and reported as such.
class reader {
 public:
  explicit reader(byte_view in) : in_(in) {}
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  std::int16_t i16() { return static_cast<std::int16_t>(u16()); }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::string text(std::size_t n) {
    if (remaining() < n) {
      ok_ = false;
      pos_ = in_.size();
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  std::uint64_t get(int n) {
    if (remaining() < static_cast<std::size_t>(n)) {
      ok_ = false;
      pos_ = in_.size();
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t{in_[pos_ + static_cast<std::size_t>(i)]} << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  byte_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace kb::storage::format::detail
