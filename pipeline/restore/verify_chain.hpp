// Restore's integrity check of one planned partition before anything is produced: every
// segment belongs under its key (topic, partition, offsets) and the segment chain up to
// checkpoint.json has no unrecorded hole (DESIGN.md §5 invariant 7).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "pipeline/restore/plan.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::restore {

struct partition_integrity {
  /// Damage no option restores around: a segment of another partition or other offsets than
  /// its key, an unreadable checkpoint. Each line names the object and the fix.
  std::vector<std::string> damage;
  std::vector<plan_hole> holes;  ///< fatal unless restore.allow_gaps
  std::vector<std::string> warnings;
};

/// Reads the partition's checkpoint.json and checks `segments` (with their index footers, as
/// build_plan read them) with storage::format::check_chain. Fails only when the store fails.
[[nodiscard]] kb::result<partition_integrity> verify_partition(storage::object_store& store,
                                                               const storage::format::backup_paths& paths,
                                                               const std::string& topic, std::int32_t partition,
                                                               bool compacted,
                                                               const std::vector<planned_segment>& segments);

/// The errc::corrupt error that refuses a restore: every damaged object and hole, that nothing
/// was written, and how to go on.
[[nodiscard]] kb::error integrity_error(const std::string& backup_id, const std::vector<std::string>& damage,
                                        const std::vector<plan_hole>& holes, bool allow_gaps);

}  // namespace kb::pipeline::restore
