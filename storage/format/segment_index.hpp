// The `.kbs` segment's index (docs/format.md): the entries for batches, frames, transactional
// spans and gaps that a restore plans with. Knows offsets and timestamps as plain integers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/format/frame_codec.hpp"

namespace kb::storage::format {

/// Readers reject versions they do not know (DESIGN.md §5). Version 1 segments store frames as
/// they are; version 2 names a frame filter (frame_filter.hpp) applied before compression.
inline constexpr std::uint16_t segment_format_version = 1;
inline constexpr std::uint16_t segment_format_version_filtered = 2;

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
  std::uint8_t filter = 0;  ///< frame filter id; 0: none (a version 1 segment); else the filter's id (version 2)
  friend bool operator==(const segment_header&, const segment_header&) = default;

  [[nodiscard]] std::uint16_t format_version() const noexcept {
    return filter == 0 ? segment_format_version : segment_format_version_filtered;
  }
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

}  // namespace kb::storage::format
