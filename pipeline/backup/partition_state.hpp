// pipeline/backup/partition_state: what the backup engine knows of one partition (position, phase,
// checkpoint, its open and sealed segments), shared by the fetcher and the segment uploader on the io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "net/cluster.hpp"
#include "pipeline/backup/batch_info.hpp"
#include "storage/format/manifest.hpp"
#include "storage/format/segment.hpp"

namespace kb::pipeline::backup {

/// One segment being filled, then compressed, then uploaded. Touched only on the io thread,
/// except the raw/compressed frame bytes that are moved to and from the workers.
struct open_segment {
  explicit open_segment(storage::format::segment_builder::options o) : builder(std::move(o)) {}
  storage::format::segment_builder builder;
  std::vector<std::optional<byte_vector>> compressed;
  std::uint32_t outstanding = 0;  ///< frames at the compression pool
  bool closing = false;
  std::chrono::steady_clock::time_point opened = std::chrono::steady_clock::now();
  std::uint64_t charged = 0;   ///< bytes held against the memory budget
  std::uint64_t records = 0;   ///< non-control
  std::uint64_t batches = 0;
  std::uint64_t raw_bytes = 0;  ///< taken when the upload starts (finish() consumes the builder)
  std::int64_t min_ts = -1;
  std::int64_t max_ts = -1;
  std::vector<storage::format::offset_gap> gaps;
};

enum class part_phase { pending, active, done };

struct partition_state {
  net::topic_partition tp;
  protocol::uuid topic_id;
  part_phase phase = part_phase::pending;
  bool initialised = false;
  std::int64_t next_offset = -1;
  std::optional<std::int64_t> end_offset;
  storage::format::partition_checkpoint checkpoint;
  bool has_checkpoint = false;
  std::shared_ptr<open_segment> cur;
  std::deque<std::shared_ptr<open_segment>> closing;
  bool uploading = false;
  bool fetching = false;
  bool needs_reset = false;  ///< OFFSET_OUT_OF_RANGE seen; resolve with ListOffsets
  std::chrono::steady_clock::time_point not_before{};
  int failures = 0;
  std::int32_t max_bytes_boost = 0;  ///< per-partition fetch size when a batch did not fit
  std::int64_t high_watermark = -1;
  /// An empty answer in a shared request may only mean that other partitions used up the
  /// response's max_bytes; the partition is then asked alone before anything is concluded.
  bool fetch_alone = false;
  txn_tracker txns;
};

using partition_map = std::map<net::topic_partition, partition_state>;

}  // namespace kb::pipeline::backup
