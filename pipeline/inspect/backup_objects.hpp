// The objects of one backup location grouped by topic and partition, and the helpers that
// list, describe and validate share (internal to pipeline/inspect).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/error.hpp"
#include "storage/format/manifest.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::inspect {

/// "2026-01-02T03:04:05.678Z", "-" for a negative time.
[[nodiscard]] std::string when(std::int64_t ms);
/// "12 B", "1.5 MiB".
[[nodiscard]] std::string human_bytes(std::uint64_t n);

/// The backup ids under the root, without their trailing '/', sorted.
[[nodiscard]] kb::result<std::vector<std::string>> backup_ids(storage::object_store& store);
/// errc::not_found naming the ids that exist when `backup_id` is not one of them.
[[nodiscard]] kb::result<void> require_backup(storage::object_store& store, std::string_view backup_id);

struct segment_object {
  storage::object_info object;
  std::int64_t first = 0;  ///< from the key
  std::int64_t last = 0;
};

struct partition_objects {
  std::vector<segment_object> segments;  ///< sorted by first offset
  std::optional<storage::object_info> checkpoint;
  std::vector<std::string> strays;  ///< other objects in the partition folder
};

struct topic_objects {
  std::optional<storage::object_info> manifest;
  std::map<std::int32_t, partition_objects> partitions;
};

struct backup_objects {
  std::map<std::string, topic_objects> topics;
  std::vector<std::string> strays;  ///< keys under topics/ that fit no pattern
};

/// Every object under the backup's topics/ folder, grouped.
[[nodiscard]] kb::result<backup_objects> scan(storage::object_store& store, const storage::format::backup_paths& paths);
/// The objects of one partition folder as they are now (scan() of just that folder).
[[nodiscard]] kb::result<partition_objects> scan_partition(storage::object_store& store,
                                                           const storage::format::backup_paths& paths,
                                                           const std::string& topic, std::int32_t partition);

/// Reads and parses one JSON object; errors name the key.
template <class T, class Parse>
kb::result<T> read_json(storage::object_store& store, const std::string& key, Parse parse) {
  auto bytes = store.get(key);
  if (!bytes) return fail(std::move(bytes.error()));
  auto parsed = parse(as_text(*bytes));
  if (!parsed) return fail(parsed.error().code, fmt::format("{}: {}", key, parsed.error().message));
  return std::move(*parsed);
}

[[nodiscard]] bool is_compacted(const storage::format::topic_manifest& t);

/// Topics in manifest order, then any found only in storage.
[[nodiscard]] std::vector<std::string> topic_order(const storage::format::backup_manifest* m,
                                                   const backup_objects& objs);

}  // namespace kb::pipeline::inspect
