// The restore state of a restore run by workers (docs/scale-out.md "Restore with workers"): one
// object per source partition under restores/{id}/partitions/ in the backup store, so that
// whichever worker owns a partition next resumes it where the last owner's checkpoint left it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "pipeline/restore/offset_map.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::restore {

struct restore_plan;
struct time_window;

/// The restore id when restore.restore_id is unset: a hash of the backup, the target cluster id,
/// the planned source->target partitions and the window ("r-" and 16 hex digits).
[[nodiscard]] std::string derive_restore_id(const restore_plan& plan, const std::string& cluster_id,
                                            const time_window& window);

/// A source partition: (topic, partition).
using source_key = std::pair<std::string, std::int32_t>;

/// The partitions of one generation of one worker (restore_options::worker).
struct worker_subset {
  std::set<source_key> partitions;
  std::string member_id;
  std::int32_t generation = -1;
};

/// The key of one source partition's state: restores/{restore_id}/partitions/{topic}/{partition}.json.
[[nodiscard]] std::string shared_state_key(const std::string& backup_id, const std::string& restore_id,
                                           const source_key& partition);

/// Refuses plans whose target partitions cannot be resumed by another worker: a repartitioned
/// topic (one source partition spread over several targets) or several source partitions written
/// into one target partition (the records after a checkpoint could not be attributed).
/// errc::config naming the partitions and the fix.
[[nodiscard]] kb::result<void> check_plan_for_workers(const restore_plan& plan);

/// Keeps only `subset`'s partitions in `plan` (the group offsets stay: they are committed from
/// every partition's state). Returns every source partition of the plan before, in plan order.
std::vector<source_key> restrict_plan(restore_plan& plan, const worker_subset& subset);

/// Reads and writes the per-partition state objects; remembers what it wrote so that a checkpoint
/// rewrites only the partitions that moved. One call at a time.
class shared_state {
 public:
  shared_state(storage::object_store& store, std::string backup_id, std::string restore_id);

  /// For messages: the store and the folder holding the objects.
  [[nodiscard]] std::string where() const;
  /// Writes a probe object (restores/{id}/workers-probe, kept): the workers need the store
  /// writable (errc::config otherwise, naming the store and why).
  [[nodiscard]] kb::result<void> check_writable();
  /// The states found for `partitions` (others are absent); nullopt when none is stored. An
  /// unreadable object is errc::corrupt naming it.
  [[nodiscard]] kb::result<std::optional<restore_state>> load(const std::vector<source_key>& partitions);
  /// A generation's start: check_writable(), then load() of the plan's partitions.
  [[nodiscard]] kb::result<std::optional<restore_state>> open(const restore_plan& plan);
  /// Every one of `partitions`' states when each is done; nullopt while one is not (or absent).
  [[nodiscard]] kb::result<std::optional<restore_state>> load_if_all_done(const std::vector<source_key>& partitions);
  /// Writes every partition of `state` whose state differs from what this object last wrote.
  [[nodiscard]] kb::result<void> save(const restore_state& state);

 private:
  storage::object_store& store_;
  std::string backup_id_;
  std::string restore_id_;
  std::map<source_key, std::string> written_;  ///< the JSON last written per partition
};

/// True when `state` holds every one of `partitions` and each is done.
[[nodiscard]] bool every_partition_done(const restore_state& state, const std::vector<source_key>& partitions);

}  // namespace kb::pipeline::restore
