// Consumer-group offsets after a restore: source offsets translated through the offset map into
// one OffsetCommit per group (pure), the broker's answer judged (pure), and the commit sent to
// the group's coordinator with retries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/restore/offset_map.hpp"
#include "pipeline/restore/plan.hpp"
#include "protocol/offset_commit.hpp"

namespace kb::pipeline::restore {

struct group_summary {
  std::string group;
  std::size_t partitions_committed = 0;
  std::vector<std::string> notes;
};

/// The commit of one group's offsets: partitions that cannot be translated (repartitioned, or
/// nothing restored and no target position known) become notes instead. A source offset past the
/// restored records maps to where the restore left the target.
struct group_commit_plan {
  protocol::offset_commit_request request;
  std::vector<std::string> notes;
};
[[nodiscard]] group_commit_plan plan_group_commit(const std::string& group,
                                                  const std::vector<const planned_group_offset*>& offsets,
                                                  const std::vector<partition_state>& partitions);

/// What an OffsetCommit answer means: partitions committed, or a retriable code (coordinator
/// moved, loading). Errors: authorization on group or topic (errc::authorization, naming the
/// ACL), an active group (errc::conflict), anything else fatal (errc::broker).
struct commit_answer {
  std::size_t committed = 0;
  std::optional<std::int16_t> retry;
};
[[nodiscard]] kb::result<commit_answer> judge_commit(const std::string& group,
                                                     const protocol::offset_commit_response& response);

/// The coordinator of a group (FindCoordinator, retried while it loads).
using coordinator_lookup = std::function<boost::asio::awaitable<kb::result<std::int32_t>>(const std::string&)>;

/// Commits every group of `offsets` (8 attempts per group, the coordinator looked up again after
/// a retriable answer). `coordinators` caches known coordinators.
[[nodiscard]] boost::asio::awaitable<kb::result<std::vector<group_summary>>> async_commit_groups(
    net::cluster& cluster, const std::vector<planned_group_offset>& offsets,
    const std::vector<partition_state>& partitions, std::map<std::string, std::int32_t>& coordinators,
    coordinator_lookup find_coordinator);

}  // namespace kb::pipeline::restore
