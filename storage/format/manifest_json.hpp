// Boost.Describe descriptions of the backup set's JSON documents (manifest.hpp), for the
// json_map.hpp conversions: names and order are those of docs/format.md.
#pragma once

#include <array>
#include <string_view>

#include <boost/describe/class.hpp>

#include "storage/format/json_map.hpp"
#include "storage/format/manifest.hpp"

namespace kb::storage::format {

using json_map::tag_invoke;

BOOST_DESCRIBE_STRUCT(offset_gap, (), (first_offset, last_offset))
BOOST_DESCRIBE_STRUCT(group_not_captured, (), (group, reason))
BOOST_DESCRIBE_STRUCT(backup_manifest, (),
                      (format_version, tool_version, backup_id, source_cluster_id, bootstrap_servers, created_ms,
                       updated_ms, mode, compression, topics, notes, not_followed, groups_not_captured))
BOOST_DESCRIBE_STRUCT(topic_manifest, (), (name, topic_id, partition_count, replication_factor, is_internal, configs))
BOOST_DESCRIBE_STRUCT(partition_checkpoint, (),
                      (topic, partition, next_offset, last_segment, segments, records, bytes_raw, bytes_stored,
                       first_offset, min_timestamp, max_timestamp, gaps, updated_ms))
BOOST_DESCRIBE_STRUCT(group_offset, (), (topic, partition, offset, leader_epoch, metadata))
BOOST_DESCRIBE_STRUCT(group_snapshot, (), (captured_ms, groups))
BOOST_DESCRIBE_STRUCT(lease, (), (owner, acquired_ms, expires_ms))

// Members a document may lack (absent: the default); the lists of backup.json appear only when set.
inline constexpr std::array<std::string_view, 1> json_optional(const group_not_captured* /*unused*/) { return {"reason"}; }
inline constexpr std::array<std::string_view, 3> json_omit_default(const backup_manifest* /*unused*/) {
  return {"notes", "not_followed", "groups_not_captured"};
}
inline constexpr std::array<std::string_view, 1> json_optional(const group_offset* /*unused*/) { return {"metadata"}; }

}  // namespace kb::storage::format
