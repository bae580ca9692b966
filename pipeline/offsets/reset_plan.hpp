// The pure half of `kafka-backup reset-offsets`: the strategies, the choice of each partition's new
// offset, the idle-group check, the partitions a reset covers, and the text/JSON report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "protocol/describe_groups.hpp"

namespace kb::pipeline::offsets {

enum class strategy { to_earliest, to_latest, to_timestamp, to_offset };

/// "to-earliest", ... as typed in the config.
[[nodiscard]] std::string_view to_string(strategy s) noexcept;
[[nodiscard]] std::optional<strategy> parse_strategy(std::string_view text) noexcept;

struct reset_request {
  std::vector<std::string> groups;  ///< required, at least one
  std::vector<std::string> topics;  ///< names or patterns (glob / ~regex); empty: the group's committed topics
  strategy how = strategy::to_earliest;
  std::int64_t timestamp_ms = 0;  ///< to-timestamp
  std::int64_t offset = 0;        ///< to-offset
  bool dry_run = false;
};

/// One partition's log bounds and, for to-timestamp, the first offset at or after the time (-1: none).
struct partition_bounds {
  std::int64_t earliest = 0;
  std::int64_t latest = 0;
  std::int64_t at_timestamp = -1;
};

/// The offset a partition is reset to, as kafka-consumer-groups.sh chooses it: a timestamp past
/// the end gives the latest offset; a requested offset outside [earliest, latest] is clamped.
[[nodiscard]] std::int64_t choose_offset(const reset_request& r, const partition_bounds& b) noexcept;

/// Kafka resets only groups without members: state Empty or Dead (never used). errc::conflict
/// naming the group, its state and its members otherwise; errc::authorization for a group ACL
/// denial; errc::broker for any other error code.
[[nodiscard]] result<void> check_group_idle(const protocol::describe_groups_response::group& g,
                                            std::string_view principal_hint);

struct reset_row {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t old_offset = -1;  ///< -1: nothing committed before
  std::int64_t new_offset = 0;
};

struct reset_report {
  strategy how = strategy::to_earliest;
  bool dry_run = false;
  std::vector<std::string> groups;
  std::vector<reset_row> rows;  ///< sorted by group, topic, partition
};

/// The table: GROUP TOPIC PARTITION OLD -> NEW, then one summary line.
[[nodiscard]] std::string report_text(const reset_report& r);
/// One JSON object: {"strategy", "dry_run", "groups", "partitions": [{group, topic, partition, old_offset, new_offset}]}.
[[nodiscard]] std::string report_json(const reset_report& r);

}  // namespace kb::pipeline::offsets
