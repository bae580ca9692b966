// pipeline/backup/worker_marks: what a backup run by a group of workers leaves in the set instead of
// the one-writer lease — the workers' marker (workers.json) and per-partition ownership records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "storage/format/manifest.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// Which worker of which group generation writes a partition (owners/<topic>/<partition>.json).
struct partition_owner {
  std::string group_id;
  std::string member_id;
  std::int32_t generation = -1;
  std::int64_t assigned_ms = 0;
};

/// workers.json: "workers of this group write the set"; renewed like a lease while any runs.
struct workers_marker {
  std::string group_id;
  std::string member_id;  ///< the last worker that renewed it
  std::int32_t generation = -1;
  std::int64_t updated_ms = 0;
  std::int64_t expires_ms = 0;
};

[[nodiscard]] std::string workers_marker_key(const storage::format::backup_paths& paths);
[[nodiscard]] std::string owner_key(const storage::format::backup_paths& paths, const net::topic_partition& tp);

[[nodiscard]] std::string to_json(const partition_owner& o);
[[nodiscard]] std::string to_json(const workers_marker& m);
/// errc::corrupt naming the field.
[[nodiscard]] result<partition_owner> parse_partition_owner(std::string_view text);
[[nodiscard]] result<workers_marker> parse_workers_marker(std::string_view text);

/// A single-process backup refuses (errc::conflict, exit 1) while workers.json is unexpired.
[[nodiscard]] result<void> refuse_if_workers_run(storage::object_store& store, const storage::format::backup_paths& paths,
                                                 std::int64_t now_ms);
/// A worker refuses (errc::conflict) while a single-process backup holds the lease (lock.json
/// unexpired and its holder not a dead process on this host).
[[nodiscard]] result<void> refuse_if_lease_held(storage::object_store& store, const storage::format::backup_paths& paths,
                                                std::int64_t now_ms);

/// Every ownership record of the set (describe); unreadable ones are skipped.
[[nodiscard]] result<std::vector<std::pair<net::topic_partition, partition_owner>>> read_owners(
    storage::object_store& store, const storage::format::backup_paths& paths);

}  // namespace kb::pipeline::backup
