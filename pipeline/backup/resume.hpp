// pipeline/backup/resume: where a partition's backup goes on after a restart — segments a crash left
// after the checkpoint are adopted or removed (the decision is pure and synchronous), then applied.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "storage/format/manifest.hpp"
#include "storage/format/segment.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// One object found under the partition's folder.
struct stored_object {
  std::string key;
  std::uint64_t size = 0;
};

/// Reads (and checks) a segment's index: the store in production, a table in tests.
using index_reader = std::function<result<storage::format::segment_index>(const std::string& key, std::uint64_t size)>;

/// What resuming a partition does: the checkpoint to go on from, the segments adopted into it
/// (uploaded before a crash, never checkpointed) and the objects to remove (past the checkpoint
/// but not continuing it), so no offset is lost and none is stored twice.
struct resume_plan {
  storage::format::partition_checkpoint checkpoint;
  bool has_checkpoint = false;
  std::vector<std::string> adopted;
  struct removal {
    std::string key;
    std::string why;
  };
  std::vector<removal> removals;
};

/// Decides, in listing order: a segment wholly below the checkpoint's next offset stays; one
/// whose first offset continues the chain and whose index verifies (offsets equal its name) is
/// adopted; anything else past the checkpoint is removed. Without a checkpoint the first
/// verified segment starts the chain. Objects whose names are not segments are left alone.
[[nodiscard]] resume_plan plan_resume(std::optional<storage::format::partition_checkpoint> checkpoint,
                                      const std::string& topic, std::int32_t partition,
                                      const std::vector<stored_object>& listing, const index_reader& read_index);

/// Moves a checkpoint past one segment (offsets, counts, timestamps, gaps).
void apply_segment(storage::format::partition_checkpoint& c, const storage::format::segment_index& idx,
                   const std::string& key, std::uint64_t stored);
/// Adds a gap to a checkpoint's list, merged with one it overlaps (a segment may record again
/// offsets an earlier one recorded: the batch holding the log start begins below it).
void add_gap(std::vector<storage::format::offset_gap>& gaps, const storage::format::offset_gap& g);

/// A partition resumed from the store.
struct resumed_partition {
  storage::format::partition_checkpoint checkpoint;  ///< topic/partition set even when new
  bool has_checkpoint = false;
  /// Transactions still open at the end of the last segment (they continue in the next).
  std::vector<storage::format::txn_span> open_txns;
};

/// Lists the partition's folder, loads the checkpoint, plans, removes the orphans, writes the
/// moved checkpoint. Blocking.
[[nodiscard]] result<resumed_partition> resume_partition(storage::object_store& store,
                                                         const storage::format::backup_paths& paths,
                                                         const std::string& topic, std::int32_t partition,
                                                         std::int64_t now_ms);
/// The same with the folder's objects already listed (`listing`: every object under the
/// partition's folder, e.g. cut from one listing of the whole topic); the checkpoint is read only
/// when the listing holds it.
[[nodiscard]] result<resumed_partition> resume_partition(storage::object_store& store,
                                                         const storage::format::backup_paths& paths,
                                                         const std::string& topic, std::int32_t partition,
                                                         std::int64_t now_ms, const std::vector<stored_object>& listing);
/// One listing of `topic`'s folder cut into its partitions' folders: partition -> objects.
[[nodiscard]] result<std::map<std::int32_t, std::vector<stored_object>>> list_topic_partitions(
    storage::object_store& store, const storage::format::backup_paths& paths, const std::string& topic);

}  // namespace kb::pipeline::backup
