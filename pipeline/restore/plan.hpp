// Restore planning from a backup set's metadata only (backup.json, topic.json, segment index
// footers read with range reads, group snapshots): topic/partition selection and mapping, the
// time window, the frames to download, and a printable plan for --dry-run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "pipeline/restore/batch_rewrite.hpp"
#include "storage/format/manifest.hpp"
#include "storage/format/segment.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::restore {

/// `strategy: murmur2` routes by key as the Java client does (null keys round-robin);
/// `round_robin` (config `automatic`, as in the reference tool) ignores keys: record by record.
enum class repartition_strategy { murmur2, round_robin };
struct repartition_rule {
  repartition_strategy strategy = repartition_strategy::murmur2;
  std::int32_t target_partitions = 0;
};

/// What to restore, independent of where it goes (the cli maps `target.topics` and `restore:`).
struct plan_options {
  std::string backup_id;
  std::vector<std::string> include;  ///< fnmatch(3) globs (* ? [...]) or "~regex" on source topic names; empty: all
  std::vector<std::string> exclude;
  std::map<std::string, std::string> topic_mapping;       ///< source -> target topic
  std::vector<std::int32_t> source_partitions;            ///< empty: all
  std::map<std::int32_t, std::int32_t> partition_mapping; ///< source -> target partition, every topic
  /// Keyed by source topic name (or by target name); a key naming no restored topic is a
  /// config error.
  std::map<std::string, repartition_rule> repartitioning;
  time_window window;
  std::vector<std::string> consumer_groups;
  bool auto_consumer_groups = false;
  /// `restore.allow_gaps`: restore around holes in a segment chain (each reported) instead of
  /// refusing the whole restore (errc::corrupt, exit 4).
  bool allow_gaps = false;
};

/// True when `name` matches an fnmatch(3) glob (`*`, `?`, `[...]`) or, with a leading '~', a regular expression.
[[nodiscard]] bool topic_matches(std::string_view pattern, std::string_view name);

struct planned_segment {
  std::string key;
  std::shared_ptr<const storage::format::segment_index> index;
  std::vector<std::uint32_t> frames;  ///< the frames to download, ascending
};

struct planned_partition {
  std::string source_topic;
  std::int32_t source_partition = 0;
  std::string target_topic;
  std::int32_t target_partition = 0;  ///< -1 when the topic is repartitioned
  std::vector<planned_segment> segments;
  std::shared_ptr<txn_filter> txns;
  std::int64_t first_offset = -1;  ///< of the stored batches that may be restored
  std::int64_t last_offset = -1;
  std::int64_t min_timestamp = -1;
  std::int64_t max_timestamp = -1;
  std::uint64_t records = 0;   ///< records in batches that may be restored (window cuts: an upper bound)
  std::uint64_t bytes = 0;     ///< raw bytes of the frames to download
  std::uint64_t frames = 0;
  std::uint64_t dropped_batches = 0;  ///< control, aborted, empty, outside the window (from the index)
};

struct planned_topic {
  std::string source;
  std::string target;
  storage::format::topic_manifest manifest;
  std::int32_t target_partitions = 0;  ///< partitions the target needs (created with this many)
  std::optional<repartition_rule> repartition;
};

/// One committed offset to translate: source group/topic/partition/offset.
struct planned_group_offset {
  std::string group;
  storage::format::group_offset source;
  std::string target_topic;
  std::int32_t target_partition = 0;
  bool translatable = true;  ///< false for repartitioned topics
};

/// Offsets of one source partition that the backup should hold but does not (a deleted
/// segment, say) and that are not recorded as gaps. Restored around only with allow_gaps.
struct plan_hole {
  std::string source_topic;
  std::int32_t source_partition = 0;
  std::int64_t first_offset = 0;
  std::int64_t last_offset = 0;
  std::string detail;  ///< the object concerned and what is wrong with it
  /// "topic 'orders' partition 0: offsets 100..199 are missing (<detail>)"
  [[nodiscard]] std::string text() const;
};

struct restore_plan {
  storage::format::backup_manifest backup;
  std::vector<planned_topic> topics;
  std::vector<planned_partition> partitions;
  std::optional<storage::format::group_snapshot> groups;  ///< the newest snapshot, if any
  std::vector<planned_group_offset> group_offsets;
  std::vector<plan_hole> holes;  ///< only with allow_gaps (otherwise build_plan fails)
  std::vector<std::string> warnings;
  [[nodiscard]] std::uint64_t records() const noexcept;
  [[nodiscard]] std::uint64_t bytes() const noexcept;
};

/// Reads the metadata of `options.backup_id` and plans the restore. errc::not_found when the
/// backup or a selected topic is missing, errc::config for mappings that cannot work,
/// errc::corrupt when a segment lies under another partition's or offsets' key, or when a
/// segment chain has a hole (storage/format/segment_chain.hpp) and allow_gaps is off: checked
/// for every planned partition before anything is produced.
[[nodiscard]] kb::result<restore_plan> build_plan(storage::object_store& store, const plan_options& options);

/// When restore.partition_mapping sends records of `topic` to partitions its source never had,
/// the message refusing to create the target that wide (creating it would silently make a topic
/// of that many partitions); nullopt otherwise. Only for targets the restore would create.
[[nodiscard]] std::optional<std::string> mapping_widens_created_topic(const restore_plan& plan,
                                                                      const planned_topic& topic);

/// A human-readable plan: topics, partitions, offset and time ranges, records, bytes, groups.
[[nodiscard]] std::string describe_plan(const restore_plan& plan, const plan_options& options);

}  // namespace kb::pipeline::restore
