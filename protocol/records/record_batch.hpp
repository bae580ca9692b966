// Kafka record batches (magic 2) and legacy message sets (magic 0/1): a zero-copy header view,
// a splitter that cuts a fetch response's records bytes into batches, record iteration on
// demand (decompressing as needed), control records, a batch builder and a header patcher.
// Everything here is sans-I/O and works on spans; malformed bytes give errc::corrupt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/records/compression.hpp"

namespace kb::protocol {

/// Sizes of the v2 batch layout (Kafka docs, "Message Format").
inline constexpr std::size_t batch_header_size = 61;       ///< bytes before the first record
inline constexpr std::size_t batch_log_overhead = 12;      ///< base_offset + batch_length
inline constexpr std::size_t batch_magic_offset = 16;      ///< same position in v0/v1 entries
inline constexpr std::size_t batch_crc_offset = 17;
inline constexpr std::size_t batch_attributes_offset = 21;  ///< the CRC covers 21..end

enum class timestamp_type : std::int8_t {
  none = -1,             ///< magic 0 messages carry no timestamp
  create_time = 0,
  log_append_time = 1,
};

/// Zero-copy view of a v2 record batch header. The view does not own the bytes.
class record_batch_header {
 public:
  /// Checks that `batch` holds at least the 61-byte header with magic 2 and a sane length.
  /// The records part may be cut short (use `complete()` before `verify_crc()`).
  [[nodiscard]] static result<record_batch_header> parse(byte_view batch);

  [[nodiscard]] std::int64_t base_offset() const noexcept;
  [[nodiscard]] std::int32_t batch_length() const noexcept;  ///< bytes after this field
  [[nodiscard]] std::int32_t partition_leader_epoch() const noexcept;
  [[nodiscard]] std::int8_t magic() const noexcept;
  [[nodiscard]] std::uint32_t crc() const noexcept;
  [[nodiscard]] std::int16_t attributes() const noexcept;
  [[nodiscard]] compression_codec codec() const noexcept;  ///< bits 0-2 (5-7 read as none; see codec_id)
  [[nodiscard]] int codec_id() const noexcept;
  [[nodiscard]] timestamp_type ts_type() const noexcept;   ///< bit 3
  [[nodiscard]] bool is_transactional() const noexcept;    ///< bit 4
  [[nodiscard]] bool is_control() const noexcept;          ///< bit 5
  [[nodiscard]] bool has_delete_horizon() const noexcept;  ///< bit 6 (KIP-534)
  [[nodiscard]] std::int32_t last_offset_delta() const noexcept;
  [[nodiscard]] std::int64_t base_timestamp() const noexcept;
  [[nodiscard]] std::int64_t max_timestamp() const noexcept;
  [[nodiscard]] std::int64_t producer_id() const noexcept;
  [[nodiscard]] std::int16_t producer_epoch() const noexcept;
  [[nodiscard]] std::int32_t base_sequence() const noexcept;
  [[nodiscard]] std::int32_t records_count() const noexcept;

  [[nodiscard]] std::int64_t last_offset() const noexcept { return base_offset() + last_offset_delta(); }
  /// Where the next fetch starts: from the header, never from the last record (KIP-74 era rule).
  [[nodiscard]] std::int64_t next_offset() const noexcept { return last_offset() + 1; }
  [[nodiscard]] std::size_t total_size() const noexcept;   ///< batch_length + 12
  [[nodiscard]] bool complete() const noexcept { return bytes_.size() >= total_size(); }

  /// CRC-32C over attributes..end, as stored bytes say it should be. Needs a complete batch.
  [[nodiscard]] std::uint32_t compute_crc() const noexcept;
  [[nodiscard]] bool verify_crc() const noexcept { return complete() && compute_crc() == crc(); }

  [[nodiscard]] byte_view bytes() const noexcept { return bytes_; }
  /// The (possibly compressed) records section, bytes 61..total_size().
  [[nodiscard]] byte_view records_bytes() const noexcept;

 private:
  explicit record_batch_header(byte_view bytes) noexcept : bytes_(bytes) {}
  byte_view bytes_;
};

/// Checks the stored checksum of one complete batch of any magic: CRC-32C for v2, CRC-32
/// (IEEE) over magic..end for a v0/v1 message. errc::corrupt on mismatch.
[[nodiscard]] result<void> check_batch_crc(byte_view batch);

// ---- splitting a fetch response -------------------------------------------------------------

/// One batch cut from a fetch response: a v2 record batch or one v0/v1 message entry
/// (offset, size, message; a compressed wrapper holds a whole inner message set).
struct fetched_batch {
  shared_bytes bytes;          ///< zero-copy slice of the response
  std::int8_t magic = 2;
  std::int64_t base_offset = 0;  ///< legacy entries: the entry's offset (for a compressed
  std::int64_t last_offset = 0;  ///< wrapper, that is the offset of its LAST inner message)
};

/// Walks the records bytes of one partition batch by batch. A truncated trailing batch ends
/// the walk without error (`truncated()` turns true): re-fetch from `next_offset()`.
class batch_splitter {
 public:
  explicit batch_splitter(shared_bytes records) noexcept : records_(std::move(records)) {}

  /// The next complete batch, std::nullopt at the end; errc::corrupt for a malformed length
  /// or an unknown magic byte.
  [[nodiscard]] result<std::optional<fetched_batch>> next();

  [[nodiscard]] bool truncated() const noexcept { return truncated_; }
  /// Bytes consumed by complete batches so far.
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  /// last_offset + 1 of the last complete batch, if any.
  [[nodiscard]] std::optional<std::int64_t> next_offset() const noexcept { return next_offset_; }

 private:
  shared_bytes records_;
  std::size_t pos_ = 0;
  bool truncated_ = false;
  std::optional<std::int64_t> next_offset_;
};

/// All complete batches of `records` plus whether a truncated tail was dropped.
struct split_result {
  std::vector<fetched_batch> batches;
  bool truncated = false;
};
[[nodiscard]] result<split_result> split_batches(const shared_bytes& records);

// ---- records --------------------------------------------------------------------------------

struct record_header {
  byte_view key;                    ///< a UTF-8 string in Kafka, never null
  std::optional<byte_view> value;
};

/// One record, whichever format it came from. Views point into the batch or into the
/// reader's decompression buffer and stay valid while the `record_reader` lives.
struct record {
  std::int64_t offset = 0;
  std::int64_t timestamp = -1;
  timestamp_type ts_type = timestamp_type::create_time;
  std::int8_t attributes = 0;
  std::optional<byte_view> key;     ///< nullopt = null key
  std::optional<byte_view> value;   ///< nullopt = null value (a tombstone)
  std::vector<record_header> headers;
};

struct record_reader_options {
  bool verify_crc = true;
  std::size_t max_decompressed = max_decompressed_bytes;
};

/// Iterates the records of one batch (v2) or message entry (v0/v1, including compressed
/// wrappers, whose v1 inner offsets are relative — KIP-31). Decompresses once, on open.
class record_reader {
 public:
  [[nodiscard]] static result<record_reader> open(shared_bytes batch, const record_reader_options& options = {});

  /// Fills `out` with the next record; false at the end; errc::corrupt for malformed records.
  [[nodiscard]] result<bool> next(record& out);

  [[nodiscard]] std::int8_t magic() const noexcept { return magic_; }
  [[nodiscard]] bool is_control() const noexcept { return control_; }
  /// The buffers record views point into (the batch, and the decompressed data if any).
  [[nodiscard]] const shared_bytes& batch() const noexcept { return batch_; }
  [[nodiscard]] const shared_bytes& decompressed() const noexcept { return decompressed_; }

 private:
  record_reader() = default;
  result<bool> next_v2(record& out);
  result<bool> next_legacy(record& out);

  shared_bytes batch_;
  shared_bytes decompressed_;  // owns decompressed records; views into it survive moves
  byte_view cursor_;
  std::int8_t magic_ = 2;
  bool control_ = false;
  std::int32_t remaining_ = 0;
  std::int64_t base_offset_ = 0;
  std::int64_t base_timestamp_ = 0;
  std::int64_t max_timestamp_ = 0;
  timestamp_type ts_type_ = timestamp_type::create_time;
  // Legacy: set when iterating the inner set of a compressed wrapper.
  bool legacy_single_ = false;
  bool verify_crc_ = true;
  std::int64_t legacy_offset_shift_ = 0;
  std::int64_t wrapper_timestamp_ = -1;
};

/// Every record of one batch together with the buffers its views point into.
struct record_set {
  std::vector<record> records;
  shared_bytes batch;
  shared_bytes decompressed;

  [[nodiscard]] std::size_t size() const noexcept { return records.size(); }
  [[nodiscard]] const record& operator[](std::size_t i) const noexcept { return records[i]; }
  [[nodiscard]] auto begin() const noexcept { return records.begin(); }
  [[nodiscard]] auto end() const noexcept { return records.end(); }
};

/// Reads every record of one batch (convenience for tests and boundary batches).
[[nodiscard]] result<record_set> read_records(const shared_bytes& batch, const record_reader_options& options = {});

// ---- control records ------------------------------------------------------------------------

enum class control_type : std::int16_t { abort = 0, commit = 1 };

/// A transaction marker: key {version int16, type int16}, value {version int16, coordinator_epoch int32}.
struct control_record {
  std::int16_t version = 0;
  control_type type = control_type::abort;
  std::int16_t value_version = 0;
  std::int32_t coordinator_epoch = -1;  ///< -1 if the value is absent
};

/// Parses the key (and value) of a record from a control batch. Unknown types are errors.
[[nodiscard]] result<control_record> parse_control_record(const record& r);

// ---- building -------------------------------------------------------------------------------

struct batch_options {
  compression_codec codec = compression_codec::none;
  int level = default_compression_level;
  std::int64_t base_offset = 0;
  std::int32_t partition_leader_epoch = -1;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  bool transactional = false;
  bool control = false;
  timestamp_type ts_type = timestamp_type::create_time;
};

/// Encodes records into one v2 batch: offset deltas 0..n-1, base timestamp = first record's,
/// max timestamp = largest; length and CRC are back-patched by build().
class record_batch_builder {
 public:
  explicit record_batch_builder(batch_options options = {});

  void add(std::int64_t timestamp, std::optional<byte_view> key, std::optional<byte_view> value,
           std::span<const record_header> headers = {});
  /// Adds `r`'s timestamp, key, value and headers (its offset is ignored).
  void add(const record& r) { add(r.timestamp, r.key, r.value, r.headers); }

  [[nodiscard]] std::int32_t count() const noexcept { return count_; }
  [[nodiscard]] std::size_t uncompressed_size() const noexcept { return records_.size(); }

  /// The finished batch. errc::invalid_argument when empty (brokers reject empty batches).
  /// The builder is reset and can be reused with the same options.
  [[nodiscard]] result<byte_vector> build();

 private:
  batch_options options_;
  byte_vector records_;
  std::int32_t count_ = 0;
  std::int64_t base_timestamp_ = 0;
  std::int64_t max_timestamp_ = -1;
};

/// A one-record control batch (transaction marker), as a transaction coordinator writes it.
[[nodiscard]] result<byte_vector> build_control_batch(control_type type, std::int64_t producer_id,
                                                      std::int16_t producer_epoch, std::int32_t coordinator_epoch,
                                                      std::int64_t timestamp, std::int64_t base_offset = 0);

// ---- patching -------------------------------------------------------------------------------

/// Header fields to overwrite in place (restore passes batches through with new ids).
struct batch_header_patch {
  std::optional<std::int64_t> base_offset;
  std::optional<std::int32_t> partition_leader_epoch;
  std::optional<std::int64_t> producer_id;
  std::optional<std::int16_t> producer_epoch;
  std::optional<std::int32_t> base_sequence;
  std::optional<bool> transactional;
  std::optional<bool> has_delete_horizon;
  std::optional<timestamp_type> ts_type;  ///< create_time or log_append_time
};

/// Applies `patch` to one complete v2 batch and recomputes its CRC-32C. The batch's stored
/// CRC is not checked first; call check_batch_crc() before if the input is untrusted.
[[nodiscard]] result<void> patch_batch_header(mutable_byte_view batch, const batch_header_patch& patch);

}  // namespace kb::protocol
