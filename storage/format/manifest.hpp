// The small JSON objects of a backup set (DESIGN.md §5): backup.json, topic.json, per-partition
// checkpoints, consumer-group snapshots, the writer's lease, and the key layout that holds them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "storage/format/segment.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::storage::format {

/// Keys under a store, all relative to `{prefix}{backup_id}/` as DESIGN.md §5 lays them out.
struct backup_paths {
  std::string backup_id;
  [[nodiscard]] std::string root() const;  ///< "{backup_id}/"
  [[nodiscard]] std::string backup_manifest() const;  ///< backup.json
  [[nodiscard]] std::string lock() const;             ///< lock.json
  [[nodiscard]] std::string topic_manifest(std::string_view topic) const;
  [[nodiscard]] std::string partition_dir(std::string_view topic, std::int32_t partition) const;
  [[nodiscard]] std::string segment(std::string_view topic, std::int32_t partition,
                                    std::int64_t first_offset, std::int64_t last_offset) const;
  [[nodiscard]] std::string checkpoint(std::string_view topic, std::int32_t partition) const;
  [[nodiscard]] std::string groups_dir() const;  ///< groups/
  [[nodiscard]] std::string group_snapshot(std::int64_t epoch_ms) const;
  [[nodiscard]] std::string restore_dir(std::string_view restore_id) const;  ///< restores/{id}/
};

/// Parses `{first:020}-{last:020}.kbs` (the last path segment of a key).
[[nodiscard]] std::optional<std::pair<std::int64_t, std::int64_t>> parse_segment_file_name(
    std::string_view name);

/// A consumer group whose committed offsets the last group snapshot could not read.
struct group_not_captured {
  std::string group;
  std::string reason;  ///< e.g. "GROUP_AUTHORIZATION_FAILED: grant Describe on the group"
  friend bool operator==(const group_not_captured&, const group_not_captured&) = default;
};

struct backup_manifest {
  std::uint32_t format_version = segment_format_version;
  std::string tool_version;
  std::string backup_id;
  std::string source_cluster_id;
  std::vector<std::string> bootstrap_servers;  ///< for people; never credentials
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::string mode;  ///< one-shot | snapshot | continuous
  std::string compression;  ///< none | lz4 | zstd
  std::vector<std::string> topics;
  std::vector<std::string> notes;  ///< what the backup could not capture (e.g. a missing ACL); optional
  /// Topics of `topics` that the last run's source.topics no longer selects: kept in the set,
  /// not fetched any more. Optional (absent: every topic is followed).
  std::vector<std::string> not_followed;
  std::vector<group_not_captured> groups_not_captured;  ///< optional; absent in older manifests
  friend bool operator==(const backup_manifest&, const backup_manifest&) = default;
};

struct topic_manifest {
  std::string name;
  std::string topic_id;  ///< UUID text, "" when the broker has none
  std::int32_t partition_count = 0;
  std::int16_t replication_factor = -1;
  bool is_internal = false;
  std::map<std::string, std::string> configs;  ///< non-default topic configs (DescribeConfigs)
  friend bool operator==(const topic_manifest&, const topic_manifest&) = default;
};

/// checkpoint.json: advanced only after the segment it names is durable (invariant 2).
struct partition_checkpoint {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t next_offset = 0;       ///< the next offset to fetch
  std::string last_segment;           ///< key of the newest durable segment, "" if none
  std::uint64_t segments = 0;         ///< running totals over every durable segment
  std::uint64_t records = 0;          ///< non-control records
  std::uint64_t bytes_raw = 0;
  std::uint64_t bytes_stored = 0;
  std::int64_t first_offset = -1;     ///< first offset stored (or first gap offset)
  std::int64_t min_timestamp = -1;
  std::int64_t max_timestamp = -1;
  std::vector<offset_gap> gaps;       ///< every retention gap recorded so far
  std::int64_t updated_ms = 0;
  friend bool operator==(const partition_checkpoint&, const partition_checkpoint&) = default;
};

/// groups/{epoch_ms}.json: committed offsets of consumer groups on the backed-up topics.
struct group_offset {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int32_t leader_epoch = -1;
  std::string metadata;
  friend bool operator==(const group_offset&, const group_offset&) = default;
};
struct group_snapshot {
  std::int64_t captured_ms = 0;
  std::map<std::string, std::vector<group_offset>> groups;  ///< by group id
  friend bool operator==(const group_snapshot&, const group_snapshot&) = default;
};

/// lock.json: the lease of the one writer of a backup id (invariant 5).
struct lease {
  std::string owner;  ///< host:pid:random, unique per run
  std::int64_t acquired_ms = 0;
  std::int64_t expires_ms = 0;  ///< renewed while running
  friend bool operator==(const lease&, const lease&) = default;
};

// JSON text <-> struct. Parsing errors are errc::corrupt naming the field; an unknown
// format_version is errc::unsupported.
[[nodiscard]] std::string to_json(const backup_manifest& m);
[[nodiscard]] std::string to_json(const topic_manifest& m);
[[nodiscard]] std::string to_json(const partition_checkpoint& c);
[[nodiscard]] std::string to_json(const group_snapshot& g);
[[nodiscard]] std::string to_json(const lease& l);
[[nodiscard]] kb::result<backup_manifest> parse_backup_manifest(std::string_view json);
[[nodiscard]] kb::result<topic_manifest> parse_topic_manifest(std::string_view json);
[[nodiscard]] kb::result<partition_checkpoint> parse_checkpoint(std::string_view json);
[[nodiscard]] kb::result<group_snapshot> parse_group_snapshot(std::string_view json);
[[nodiscard]] kb::result<lease> parse_lease(std::string_view json);

/// Takes the lease with put_if_absent; an existing unexpired lease of another owner is
/// errc::conflict naming the owner and expiry and how to proceed; an expired one is replaced.
[[nodiscard]] kb::result<lease> acquire_lease(object_store& store, const backup_paths& paths,
                                              std::string owner, std::int64_t now_ms,
                                              std::int64_t ttl_ms);
/// Extends our lease; errc::conflict if someone else holds it now.
[[nodiscard]] kb::result<lease> renew_lease(object_store& store, const backup_paths& paths,
                                            const lease& ours, std::int64_t now_ms,
                                            std::int64_t ttl_ms);
/// Removes the lease if it is still ours.
kb::result<void> release_lease(object_store& store, const backup_paths& paths, const lease& ours);

}  // namespace kb::storage::format
