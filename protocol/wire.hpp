// Kafka primitive wire types (protocol layer, sans-I/O): `writer` appends big-endian integers,
// varints, strings, bytes, UUIDs, arrays and tagged-field sections to a growable buffer;
// `reader` decodes them from a kb::shared_bytes with bounds checks and zero-copy slices.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::protocol {

/// Why decoding stopped. `need_more`: the input ended before the value did (a truncated
/// frame, or a length that points past the end). `malformed`: the bytes can never be valid
/// (negative length, overlong varint, null where the schema forbids it).
enum class wire_errc { need_more = 1, malformed = 2 };

const std::error_category& wire_category() noexcept;
inline std::error_code make_error_code(wire_errc e) noexcept {
  return {static_cast<int>(e), wire_category()};
}

/// A Kafka UUID (topic id): 16 raw bytes, all-zero meaning "none".
struct uuid {
  std::array<std::uint8_t, 16> bytes{};
  [[nodiscard]] bool is_zero() const noexcept;
  bool operator==(const uuid&) const = default;
};

/// Appends Kafka primitives to an owned buffer. A value its wire type cannot hold (a string
/// over 32767 bytes, bytes over 2 GiB) is not written: the writer records why in `failure()`,
/// sticky, and the caller refuses the encoding rather than send truncated lengths.
class writer {
 public:
  writer() = default;
  explicit writer(std::size_t reserve_bytes) { buf_.reserve(reserve_bytes); }

  void write_int8(std::int8_t v) { buf_.push_back(static_cast<std::uint8_t>(v)); }
  void write_bool(bool v) { buf_.push_back(v ? 1 : 0); }
  void write_int16(std::int16_t v) { put_be(static_cast<std::uint16_t>(v), 2); }
  void write_int32(std::int32_t v) { put_be(static_cast<std::uint32_t>(v), 4); }
  void write_uint32(std::uint32_t v) { put_be(v, 4); }
  void write_int64(std::int64_t v) { put_be(static_cast<std::uint64_t>(v), 8); }
  void write_float64(double v);
  /// Zigzag varint (record fields), at most 5 bytes.
  void write_varint(std::int32_t v);
  /// Zigzag varlong, at most 10 bytes.
  void write_varlong(std::int64_t v);
  /// Unsigned varint (compact lengths, tags), at most 5 bytes.
  void write_uvarint(std::uint32_t v);

  /// The longest STRING / COMPACT_STRING Kafka encodes (its int16 length; Kafka's generated
  /// code applies the same bound to compact strings).
  static constexpr std::size_t max_string_bytes = 0x7fff;

  /// STRING: int16 length + UTF-8.
  void write_string(std::string_view s);
  /// NULLABLE_STRING: int16 length, -1 for null.
  void write_nullable_string(const std::optional<std::string>& s);
  /// COMPACT_STRING: uvarint length+1.
  void write_compact_string(std::string_view s);
  /// COMPACT_NULLABLE_STRING: uvarint 0 for null.
  void write_compact_nullable_string(const std::optional<std::string>& s);
  /// BYTES: int32 length + data.
  void write_bytes(byte_view b);
  /// NULLABLE_BYTES / records: int32 -1 for null.
  void write_nullable_bytes(std::optional<byte_view> b);
  /// COMPACT_BYTES: uvarint length+1.
  void write_compact_bytes(byte_view b);
  /// COMPACT_NULLABLE_BYTES / compact records: uvarint 0 for null.
  void write_compact_nullable_bytes(std::optional<byte_view> b);
  void write_uuid(const uuid& id) { write_raw(id.bytes); }

  /// ARRAY length (int32) or COMPACT_ARRAY length (uvarint n+1).
  void write_array_length(std::size_t n, bool compact);
  /// A null array: int32 -1, or uvarint 0 when compact.
  void write_null_array(bool compact);
  /// An empty tagged-field section (one uvarint 0).
  void write_empty_tagged_fields() { buf_.push_back(0); }
  /// One tagged field: uvarint tag, uvarint size, data. Callers write the count first.
  void write_tagged_field(std::uint32_t tag, byte_view data);

  void write_raw(byte_view b) { buf_.insert(buf_.end(), b.begin(), b.end()); }

  /// Where borrowed bytes go into the frame: before buffer()[at], `bytes` (not copied).
  struct splice {
    std::size_t at = 0;
    byte_view bytes;
  };
  /// From now on NULLABLE_BYTES / COMPACT_NULLABLE_BYTES values (record batches) are not copied
  /// but noted in splices(): the caller sends buffer() with them spliced in (gather write), and
  /// keeps them alive until then. buffer(), view() and size() then lack those bytes.
  void borrow_nullable_bytes() noexcept { borrow_ = true; }
  [[nodiscard]] const std::vector<splice>& splices() const noexcept { return splices_; }
  [[nodiscard]] std::vector<splice> take_splices() noexcept { return std::move(splices_); }
  /// Bytes of the splices (the frame's size is size() plus this).
  [[nodiscard]] std::size_t borrowed_size() const noexcept { return borrowed_size_; }

  /// Reserves a 4-byte slot (a size or a CRC) and returns its offset for `patch_*`.
  std::size_t reserve_int32() {
    const std::size_t at = buf_.size();
    buf_.resize(at + 4);
    return at;
  }
  void patch_int32(std::size_t at, std::int32_t v) { patch_uint32(at, static_cast<std::uint32_t>(v)); }
  void patch_uint32(std::size_t at, std::uint32_t v);

  /// Why a value could not be encoded (the first such value), or nullopt when all fit.
  [[nodiscard]] const std::optional<std::string>& failure() const noexcept { return failure_; }
  /// errc::invalid_argument with failure()'s text, prefixed by `what`; success when none.
  [[nodiscard]] result<void> status(std::string_view what) const;

  [[nodiscard]] std::size_t size() const noexcept { return buf_.size(); }
  [[nodiscard]] byte_view view() const noexcept { return buf_; }
  [[nodiscard]] byte_vector& buffer() noexcept { return buf_; }
  /// Hands the buffer over; the writer is empty afterwards.
  [[nodiscard]] byte_vector take() noexcept { return std::move(buf_); }

 private:
  void put_be(std::uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) buf_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  // False (and failure_ set) when a length of `n` exceeds `max` for the wire type `type`.
  bool fits(std::size_t n, std::size_t max, std::string_view type);

  // Copies `b`, or notes it as a splice in borrowing mode.
  void write_borrowable(byte_view b);

  byte_vector buf_;
  std::optional<std::string> failure_;
  bool borrow_ = false;
  std::vector<splice> splices_;
  std::size_t borrowed_size_ = 0;
};

/// Reads Kafka primitives from a shared buffer. Every read is bounds-checked; the first
/// failure is sticky (later reads return zero values and change nothing), so a decoder can
/// read a whole struct and check `ok()` once. Byte fields come back as zero-copy slices.
class reader {
 public:
  reader() = default;
  explicit reader(shared_bytes buf) : buf_(std::move(buf)) {}

  std::int8_t read_int8();
  bool read_bool();
  std::int16_t read_int16();
  std::int32_t read_int32();
  std::uint32_t read_uint32();
  std::int64_t read_int64();
  double read_float64();
  std::int32_t read_varint();
  std::int64_t read_varlong();
  std::uint32_t read_uvarint();

  std::string read_string();
  std::optional<std::string> read_nullable_string();
  std::string read_compact_string();
  std::optional<std::string> read_compact_nullable_string();
  shared_bytes read_bytes();
  std::optional<shared_bytes> read_nullable_bytes();
  shared_bytes read_compact_bytes();
  std::optional<shared_bytes> read_compact_nullable_bytes();
  uuid read_uuid();

  /// Element count of an ARRAY / COMPACT_ARRAY; -1 means null. A count larger than the
  /// remaining bytes (every element takes at least one) fails with need_more.
  std::int32_t read_array_length(bool compact);

  /// Reads a tagged-field section, calling `on_field(tag, reader& value)` for each field with
  /// a reader over exactly that field's bytes. Fields the callback does not consume are
  /// skipped, so unknown tags are ignored as the protocol requires.
  template <class OnField>
  void read_tagged_fields(OnField&& on_field) {
    const std::uint32_t count = read_uvarint();
    for (std::uint32_t i = 0; i < count && ok(); ++i) {
      const std::uint32_t tag = read_uvarint();
      const std::uint32_t size = read_uvarint();
      shared_bytes value = read_raw(size);
      if (!ok()) return;
      reader sub(std::move(value));
      on_field(tag, sub);
      if (!sub.ok()) {
        fail(wire_errc::malformed);  // a field shorter than its value is malformed, not short
        return;
      }
    }
  }
  void skip_tagged_fields() {
    read_tagged_fields([](std::uint32_t, reader&) {});
  }

  /// The next `n` bytes as a slice of the same storage.
  shared_bytes read_raw(std::size_t n);

  [[nodiscard]] bool ok() const noexcept { return status_ == 0; }
  [[nodiscard]] std::optional<wire_errc> status() const noexcept {
    if (status_ == 0) return std::nullopt;
    return static_cast<wire_errc>(status_);
  }
  [[nodiscard]] std::size_t remaining() const noexcept { return buf_.size() - pos_; }
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  /// Marks the reader failed (first failure wins).
  void fail(wire_errc e) noexcept {
    if (status_ == 0) status_ = static_cast<int>(e);
  }
  /// The sticky failure as a kb::error naming `what` was being decoded.
  [[nodiscard]] error to_error(std::string_view what) const;

 private:
  bool need(std::size_t n) noexcept {
    if (status_ != 0) return false;
    if (remaining() < n) {
      fail(wire_errc::need_more);
      return false;
    }
    return true;
  }
  std::uint64_t get_be(int width) noexcept;
  std::optional<std::size_t> read_length(bool compact, bool nullable);

  shared_bytes buf_;
  std::size_t pos_ = 0;
  int status_ = 0;
};

}  // namespace kb::protocol

template <>
struct std::is_error_code_enum<kb::protocol::wire_errc> : std::true_type {};
