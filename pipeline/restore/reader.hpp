// Restore's read side, synchronous and broker-free: one stored frame read and rewritten into
// batches ready to produce, batches routed over target partitions when a topic is
// repartitioned, and the batch size limit of a target topic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "pipeline/restore/batch_rewrite.hpp"
#include "pipeline/restore/partitioner.hpp"
#include "pipeline/restore/plan.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::restore {

/// What reading one frame produced.
struct frame_work {
  std::optional<error> err;
  std::vector<output_batch> outputs;
  rewrite_stats stats;
  std::int64_t next_offset = 0;  ///< source offset after the frame's last batch
};

/// Reads frame `frame` of `seg` and rewrites its batches: records below `next_offset` (restored
/// already) or below a log start inside a batch (a recorded gap) are skipped, `window` cuts by
/// timestamp, outputs stay below `max_batch` bytes; runs of small uncompressed batches are merged
/// within `merge` (merge_small_batches). Errors name the partition and segment.
[[nodiscard]] frame_work read_frame_batches(storage::object_store& store, const planned_partition& p,
                                            const planned_segment& seg, std::uint32_t frame, std::int64_t next_offset,
                                            const time_window& window, std::size_t max_batch,
                                            const merge_limits& merge);

/// Splits batches over target partitions by the router (murmur2 of the key, or round-robin),
/// re-encoding per partition; a partition's batch is cut once its records pass max_batch / 2.
/// Offsets are not mapped for repartitioned topics: each output names its first source record.
[[nodiscard]] kb::result<std::map<std::int32_t, std::vector<output_batch>>> route_batches(
    const std::vector<output_batch>& in, murmur2_partitioner& router, std::size_t max_batch);

/// The largest batch to produce into `target_topic`: the backed-up max.message.bytes when the
/// restore creates the topic (not in `existing`), else the broker default (MESSAGE_TOO_LARGE
/// splits further).
[[nodiscard]] std::size_t max_batch_bytes(const restore_plan& plan, const std::set<std::string>& existing,
                                          const std::string& target_topic);

}  // namespace kb::pipeline::restore
