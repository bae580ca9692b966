// The backup segment (`.kbs`, docs/format.md): whole raw record batches packed into
// independently compressed frames, an index footer (batches, frames, transactional spans,
// gaps) and XXH3-64 checksums. Knows offsets and timestamps as plain integers, nothing of Kafka.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::storage::format {

/// Readers reject versions they do not know (DESIGN.md §5).
inline constexpr std::uint16_t segment_format_version = 1;

enum class frame_codec : std::uint8_t { none = 0, lz4 = 1, zstd = 2 };

/// Bits of batch_entry::flags, taken by the caller from the batch header.
namespace batch_flags {
inline constexpr std::uint16_t transactional = 1u << 0;
inline constexpr std::uint16_t control = 1u << 1;
inline constexpr std::uint16_t log_append_time = 1u << 2;
inline constexpr std::uint16_t legacy = 1u << 3;  ///< magic 0/1 message set, not a v2 batch
inline constexpr std::uint16_t commit_marker = 1u << 4;  ///< control batch holding COMMIT
inline constexpr std::uint16_t abort_marker = 1u << 5;   ///< control batch holding ABORT
}  // namespace batch_flags

/// One stored batch. The caller fills the offsets, timestamps, counts, flags and producer
/// fields; the writer fills frame, position and size.
struct batch_entry {
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;
  std::int64_t first_timestamp = -1;
  std::int64_t max_timestamp = -1;
  std::int32_t record_count = 0;  ///< records in the batch (control batches: their markers)
  std::uint16_t flags = 0;        ///< batch_flags
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  std::uint32_t frame = 0;     ///< index into segment_index::frames
  std::uint32_t position = 0;  ///< byte offset of the batch inside the frame's raw bytes
  std::uint32_t size = 0;      ///< bytes of the batch
  friend bool operator==(const batch_entry&, const batch_entry&) = default;
};

/// One frame: a run of whole batches compressed on its own, so one range read fetches it.
struct frame_entry {
  std::uint64_t file_offset = 0;  ///< where its stored bytes start in the segment
  std::uint32_t stored_size = 0;
  std::uint32_t raw_size = 0;
  std::uint32_t first_batch = 0;  ///< index into segment_index::batches
  std::uint32_t batch_count = 0;
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;
  std::int64_t min_timestamp = -1;
  std::int64_t max_timestamp = -1;
  std::uint64_t xxh3 = 0;  ///< XXH3-64 of the stored (compressed) bytes
  friend bool operator==(const frame_entry&, const frame_entry&) = default;
};

enum class txn_outcome : std::uint8_t { open = 0, committed = 1, aborted = 2 };

/// The offsets one producer wrote inside one transaction, and how it ended (if seen here).
struct txn_span {
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;  ///< the marker's offset when the outcome is known
  txn_outcome outcome = txn_outcome::open;
  friend bool operator==(const txn_span&, const txn_span&) = default;
};

/// Offsets that exist no more in the source (retention, OFFSET_OUT_OF_RANGE), inclusive.
struct offset_gap {
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;
  friend bool operator==(const offset_gap&, const offset_gap&) = default;
};

struct segment_header {
  std::string topic;
  std::int32_t partition = 0;
  frame_codec codec = frame_codec::none;
  std::int64_t created_ms = 0;
  friend bool operator==(const segment_header&, const segment_header&) = default;
};

/// Everything but the frame bytes: what a restore plans with and what describe reports.
struct segment_index {
  segment_header header;
  std::vector<frame_entry> frames;
  std::vector<batch_entry> batches;  ///< in offset order
  std::vector<txn_span> txns;
  std::vector<offset_gap> gaps;
  std::uint64_t file_size = 0;
  std::uint64_t file_xxh3 = 0;  ///< XXH3-64 of every byte before the trailer
  [[nodiscard]] std::int64_t first_offset() const noexcept;  ///< of batches and gaps
  [[nodiscard]] std::int64_t last_offset() const noexcept;
  [[nodiscard]] std::uint64_t raw_bytes() const noexcept;     ///< sum of frames' raw_size
  [[nodiscard]] std::uint64_t record_count() const noexcept;  ///< non-control records
};

/// The first offset of `entry` outside the index's gaps. A fetch from inside a batch (the
/// partition's log start fell in it) returns the whole batch; it is stored as fetched and its
/// offsets below the start are recorded as a gap over the batch's leading offsets (DESIGN.md §5
/// invariant 6). Readers skip the records below the returned offset.
[[nodiscard]] std::int64_t live_first_offset(const segment_index& index, const batch_entry& entry) noexcept;

/// Compresses one frame's raw bytes. Pure and thread-safe: the pipeline's worker pool calls it.
[[nodiscard]] kb::result<byte_vector> encode_frame(frame_codec codec, int level, byte_view raw);
/// The inverse; `raw_size` comes from the frame_entry and bounds the output.
[[nodiscard]] kb::result<byte_vector> decode_frame(frame_codec codec, byte_view stored,
                                                   std::uint32_t raw_size);

/// Builds one segment in memory. Batches go into the open frame until it holds
/// `frame_target_bytes`; then the frame is sealed and handed out raw so that any thread can
/// compress it (encode_frame) before `finish` assembles the segment. Not thread-safe.
class segment_builder {
 public:
  struct options {
    segment_header header;
    int compression_level = 3;
    std::uint32_t frame_target_bytes = 1u << 20;
  };
  /// A sealed frame, raw, waiting to be compressed.
  struct raw_frame {
    std::uint32_t frame = 0;
    byte_vector raw;
  };

  /// A finished segment in pieces whose concatenation is the `.kbs` file: writing them in
  /// order saves assembling one copy of every frame.
  struct parts {
    byte_vector head;                 ///< the segment header
    std::vector<byte_vector> frames;  ///< the stored frames, as given to finish_parts
    byte_vector tail;                 ///< the index and the trailer
    [[nodiscard]] std::uint64_t size() const noexcept;
  };

  explicit segment_builder(options opts);

  /// Copies `batch` into the open frame; entry.frame/position/size are filled in here.
  /// Offsets must increase; a batch may begin inside the recorded gaps that end the segment
  /// so far (log start inside a batch) as long as it ends past them. Returns the sealed frame
  /// when this append filled it.
  [[nodiscard]] std::optional<raw_frame> append(byte_view batch, batch_entry entry);
  /// Overlapping gaps are merged when the segment is finished.
  void add_gap(offset_gap gap);
  /// True when every offset in [first, last] lies in the gaps added so far.
  [[nodiscard]] bool gaps_cover(std::int64_t first, std::int64_t last) const;
  void add_txn_span(txn_span span);
  /// Seals the open frame (if it holds anything) and returns it.
  [[nodiscard]] std::optional<raw_frame> seal_frame();

  [[nodiscard]] bool empty() const noexcept;          ///< no batches and no gaps
  [[nodiscard]] std::uint64_t raw_bytes() const noexcept;
  [[nodiscard]] std::size_t batch_count() const noexcept;
  [[nodiscard]] std::int64_t first_offset() const noexcept;
  [[nodiscard]] std::int64_t last_offset() const noexcept;  ///< of batches and gaps
  [[nodiscard]] const options& opts() const noexcept { return opts_; }

  /// Hands back a frame buffer that has been written out, so a later frame reuses its pages
  /// instead of faulting in fresh ones. Keeps at most two; the rest are freed.
  void recycle_frame(byte_vector buffer);

  /// Assembles header, frames (compressed, indexed by raw_frame::frame, all of them) and the
  /// index footer into the segment's bytes. Call after the last seal_frame.
  [[nodiscard]] kb::result<byte_vector> finish(std::vector<byte_vector> compressed_frames) &&;
  /// Like finish, but returns the pieces instead of one copy of them (same bytes, in order).
  [[nodiscard]] kb::result<parts> finish_parts(std::vector<byte_vector> compressed_frames) &&;

 private:
  options opts_;
  segment_index index_;
  byte_vector open_frame_;
  std::vector<byte_vector> spare_frames_;  ///< recycled buffers for the next frames
  std::int64_t open_frame_min_ts_ = -1;
  std::uint64_t raw_bytes_ = 0;
  std::string misuse_;  ///< the first caller error (offsets out of order), reported by finish
};

/// Parses and verifies a whole segment (every checksum, version, index consistency).
/// Errors are errc::corrupt naming what is wrong (or errc::unsupported for a newer version).
[[nodiscard]] kb::result<segment_index> parse_segment(byte_view segment);

/// Reads only the trailer and index of a stored segment (two range reads), verifying the
/// index checksum; `size` from a listing or head saves a round trip when known.
[[nodiscard]] kb::result<segment_index> read_segment_index(object_store& store, std::string_view key,
                                                           std::optional<std::uint64_t> size = {});

/// Reads one frame with a range read, checks its XXH3 and returns its raw batches.
[[nodiscard]] kb::result<byte_vector> read_frame(object_store& store, std::string_view key,
                                                 const segment_index& index, std::uint32_t frame);

/// `{first:020}-{last:020}.kbs`
[[nodiscard]] std::string segment_file_name(std::int64_t first_offset, std::int64_t last_offset);

}  // namespace kb::storage::format
