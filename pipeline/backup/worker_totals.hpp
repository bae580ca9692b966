// pipeline/backup/worker_totals: the totals of a backup run by a group of workers, summed from every
// partition's checkpoint in the store (what the group's leader logs; docs/scale-out.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "storage/format/manifest.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// One partition of the group's work: its end offset and log start (-1 when unknown).
struct group_partition {
  net::topic_partition tp;
  std::int64_t end_offset = -1;
  std::int64_t log_start = -1;
};

struct group_totals {
  std::uint64_t partitions = 0;
  std::uint64_t partitions_done = 0;  ///< checkpoint at the end offset (or nothing to back up)
  std::uint64_t checkpoints = 0;      ///< partitions with a checkpoint
  std::uint64_t records = 0;          ///< the checkpoints' running totals: every worker's, every run's
  std::uint64_t bytes_raw = 0;
  std::uint64_t bytes_stored = 0;
  std::uint64_t segments = 0;
  std::int64_t lag = 0;               ///< offsets between the checkpoints and the end offsets (known ones)
};

/// One GET per partition. A missing or unreadable checkpoint counts as nothing stored yet; a
/// store that cannot be read at all is the error.
[[nodiscard]] result<group_totals> sum_group_totals(storage::object_store& store,
                                                    const storage::format::backup_paths& paths,
                                                    const std::vector<group_partition>& parts);

/// "backup group G (generation N, leader M): 60/60 partitions at their end offsets, ..."
[[nodiscard]] std::string group_totals_line(std::string_view group_id, std::int32_t generation,
                                            std::string_view leader, const group_totals& t);

}  // namespace kb::pipeline::backup
