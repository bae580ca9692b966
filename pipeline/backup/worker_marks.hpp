// pipeline/backup/worker_marks: what a backup run by a group of workers leaves in the set instead of
// the one-writer lease — the workers' marker (workers.json) and per-partition ownership records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "storage/format/manifest.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// One worker's term on a partition: the generation that assigned it and the offsets it committed
/// (describe shows who wrote what from these).
struct owner_term {
  std::string member_id;
  std::string instance_id;  ///< KIP-345 static membership, "" for a dynamic member
  std::int32_t generation = -1;
  std::int64_t assigned_ms = 0;
  std::int64_t first_offset = -1;  ///< the checkpoint's next offset when the term began (-1: none yet)
  std::int64_t next_offset = -1;   ///< the checkpoint's next offset when the term ended (-1: running or lost)
  std::int64_t ended_ms = 0;       ///< 0 while running, or when the worker lost the partition
  friend bool operator==(const owner_term&, const owner_term&) = default;
};

/// Which worker of which group generation writes a partition (owners/<topic>/<partition>.json):
/// the current term at the top level (the fields the first version had), earlier terms in
/// `history` (oldest first, at most owner_history_max).
struct partition_owner {
  partition_owner() = default;
  partition_owner(std::string group, std::string member, std::int32_t gen, std::int64_t at, std::string instance = {})
      : group_id(std::move(group)), member_id(std::move(member)), generation(gen), assigned_ms(at),
        instance_id(std::move(instance)) {}

  std::string group_id;
  std::string member_id;
  std::int32_t generation = -1;
  std::int64_t assigned_ms = 0;
  std::string instance_id;
  std::int64_t first_offset = -1;
  std::int64_t next_offset = -1;
  std::int64_t ended_ms = 0;
  std::vector<owner_term> history;

  [[nodiscard]] owner_term current() const {
    return owner_term{member_id, instance_id, generation, assigned_ms, first_offset, next_offset, ended_ms};
  }
  /// Every term, oldest first (history, then the current one).
  [[nodiscard]] std::vector<owner_term> terms() const;
};

inline constexpr std::size_t owner_history_max = 32;

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

/// A generation's engine starts on `tp`: the record names `o` (its first_offset is read from the
/// checkpoint here) and keeps the previous terms. Only the generation's owner writes it: an eager
/// rebalance ends the previous term (revoked, sealed, committed) before the next one starts.
[[nodiscard]] result<void> record_owner_start(storage::object_store& store, const storage::format::backup_paths& paths,
                                              const net::topic_partition& tp, partition_owner o);
/// The term of (member, generation) ended normally: next_offset from the checkpoint, ended_ms.
/// Skipped (ok) when the record names another term already — a worker that lost its partitions
/// never writes the record again, so a zombie cannot overwrite the new owner's term.
[[nodiscard]] result<void> record_owner_end(storage::object_store& store, const storage::format::backup_paths& paths,
                                            const net::topic_partition& tp, std::string_view member_id,
                                            std::int32_t generation, std::int64_t now_ms);

/// Every ownership record of the set (describe); unreadable ones are skipped.
[[nodiscard]] result<std::vector<std::pair<net::topic_partition, partition_owner>>> read_owners(
    storage::object_store& store, const storage::format::backup_paths& paths);

}  // namespace kb::pipeline::backup
