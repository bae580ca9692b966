// Consumer-group snapshots for a backup: the committed offsets of every visible consumer group
// on the backed-up topics, and the groups that could not be read, with why and the missing ACL.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "net/cluster.hpp"
#include "storage/format/manifest.hpp"

namespace kb::pipeline::backup {

/// What one snapshot found.
struct group_capture {
  storage::format::group_snapshot snapshot;  ///< groups with committed offsets on the topics
  std::vector<storage::format::group_not_captured> not_captured;  ///< by group id, sorted
  std::size_t listed = 0;  ///< consumer groups ListGroups showed
};

/// What a group-level error code (FindCoordinator, OffsetFetch) means for the snapshot.
enum class group_error_action {
  ok,           ///< no error
  retry,        ///< the coordinator is loading or moved: ask again (bounded)
  missing_acl,  ///< GROUP_AUTHORIZATION_FAILED: the principal may not Describe the group
  gone,         ///< the group was deleted after it was listed: nothing to capture
  failed,       ///< any other error: the group is recorded as not captured
};
[[nodiscard]] group_error_action classify_group_error(std::int16_t code) noexcept;

/// The kafka-acls command that grants `principal` ("User:name"; empty when unknown) what a
/// snapshot needs on `group` (Describe), against `bootstrap`.
[[nodiscard]] std::string group_acl_command(std::string_view principal, std::string_view group,
                                            std::string_view bootstrap);

/// Reads groups through one cluster view; warns once per run about missing group ACLs.
class group_snapshotter {
 public:
  struct options {
    std::string principal;  ///< "User:name" for SASL users; empty when unknown (mTLS, PLAINTEXT)
    std::string bootstrap;  ///< for the kafka-acls hint
    std::chrono::milliseconds retry_backoff{100};
    int max_attempts = 6;  ///< per group, for a loading or moved coordinator
  };
  group_snapshotter(std::shared_ptr<net::cluster> cluster, options o);

  /// Offsets of every consumer group on `topics`; never fails (what is unreadable is reported).
  [[nodiscard]] boost::asio::awaitable<group_capture> async_capture(const std::set<std::string>& topics,
                                                                    std::int64_t now_ms);

 private:
  struct group_result;
  boost::asio::awaitable<group_result> async_read_group(const std::string& gid, const std::set<std::string>& topics);
  void report(const group_capture& c);

  std::shared_ptr<net::cluster> cluster_;
  options opts_;
  bool warned_acl_ = false;
  bool warned_none_visible_ = false;
};

}  // namespace kb::pipeline::backup
