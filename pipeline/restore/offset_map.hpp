// The exact source->target offset map of a restore, kept as ranges (source first, target first,
// count), and the per-partition restore state (resume point + map) stored under restores/{id}/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace kb::pipeline::restore {

struct offset_range {
  std::int64_t source_first = 0;
  std::int64_t target_first = 0;
  std::int64_t count = 0;
  friend bool operator==(const offset_range&, const offset_range&) = default;
};

/// Source offsets of one source partition -> offsets in its target partition. Ranges are added
/// in source order (as batches are acknowledged); contiguous ones merge.
class offset_map {
 public:
  /// errc::internal when `source_first` does not follow the last range (out-of-order add).
  kb::result<void> add(std::int64_t source_first, std::int64_t target_first, std::int64_t count);

  /// Where a consumer committed at `source_offset` (the next record it would read) resumes in
  /// the target: the target offset of the first restored record whose source offset is
  /// >= source_offset (records dropped by the window or as aborted map to the next restored
  /// one); past every restored record: the target offset after the last. nullopt when empty.
  [[nodiscard]] std::optional<std::int64_t> translate(std::int64_t source_offset) const;

  [[nodiscard]] const std::vector<offset_range>& ranges() const noexcept { return ranges_; }
  [[nodiscard]] bool empty() const noexcept { return ranges_.empty(); }
  [[nodiscard]] std::int64_t records() const noexcept;
  void assign(std::vector<offset_range> ranges) { ranges_ = std::move(ranges); }

 private:
  std::vector<offset_range> ranges_;
};

/// Restore progress of one source partition; what a re-run resumes from.
struct partition_state {
  std::string source_topic;
  std::int32_t source_partition = 0;
  std::string target_topic;
  std::int32_t target_partition = 0;  ///< -1 when repartitioned (keys spread over partitions)
  /// Every source record below this offset is in the target (or was filtered out).
  std::int64_t next_source_offset = 0;
  /// The target partition's end offset after our last acknowledged batch (-1 before the first).
  std::int64_t target_end = -1;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  bool done = false;
  offset_map map;
  /// The target topic's id (hex) when it was written: a re-run that finds another id (topic
  /// deleted and re-created) starts over instead of trusting this state. Empty: unknown.
  std::string target_topic_id;
  /// The idempotent producer this partition's records are written with, kept across runs so that
  /// a killed run's late Produce request and a re-run's resend carry the same sequence and the
  /// broker keeps one (producer_identity.hpp). -1: none yet.
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  /// The target offset where that producer's sequence 0 went in this partition (the end offset
  /// when it started writing here): the next sequence is always target end - origin.
  std::int64_t sequence_origin = -1;
};

/// Every partition of one restore run (restores/{restore_id}/state.json).
struct restore_state {
  std::string restore_id;
  std::string backup_id;
  std::int64_t updated_ms = 0;
  std::vector<partition_state> partitions;
};

[[nodiscard]] std::string to_json(const restore_state& state);
/// errc::corrupt naming the field on malformed input.
[[nodiscard]] kb::result<restore_state> parse_restore_state(std::string_view json);

}  // namespace kb::pipeline::restore
