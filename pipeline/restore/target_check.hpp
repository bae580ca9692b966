// Checks of the target cluster before a restore writes anything: target topics (exist? partition
// counts, topic ids, the principal's operations, also on topics still to be created), a
// validate-only CreateTopics, and the consumer groups to commit (coordinator, Read, idle).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/restore/plan.hpp"
#include "pipeline/restore/restore_state.hpp"
#include "protocol/create_topics.hpp"
#include "protocol/metadata.hpp"

namespace kb::pipeline::restore {

/// A Kafka error code by name, with the broker's message when it sent one.
[[nodiscard]] std::string kafka_error(std::int16_t code, const std::optional<std::string>& message);

/// Topic configs a 4.x broker refuses on CreateTopics (removed in 4.0 or broker-only): false.
[[nodiscard]] bool creatable_config(const std::string& name);

/// Write and Describe on a topic the restore will create (`ops`: Metadata's authorized
/// operations bit set, unknown or negative: not checked). errc::authorization naming the ACL.
[[nodiscard]] kb::result<void> check_created_topic_ops(const std::string& topic, std::int32_t ops);

/// OffsetCommit checks Read on each topic as well as on the group: every target topic a group
/// offset is committed to needs Read in `ops` (topics missing from `ops` or unknown: not checked).
[[nodiscard]] kb::result<void> check_commit_read(const std::vector<planned_group_offset>& offsets,
                                                 const std::map<std::string, std::int32_t>& ops);

struct target_check_options {
  bool create_topics = true;
  std::optional<std::int16_t> replication_factor;
  bool reset_consumer_offsets = false;
};

/// What the checks found out; the restore acts on it.
struct target_facts {
  std::set<std::string> existing;                    ///< target topics that exist
  std::map<std::string, std::int32_t> topic_ops;     ///< authorized operations per target topic
  std::map<std::string, target_topic_status> status; ///< exists? topic id?
  std::vector<protocol::create_topics_request::topic> to_create;
  std::vector<std::string> created_topics;           ///< names of `to_create`, for the summary
  std::map<std::string, std::int32_t> coordinators;  ///< group -> coordinator node
  std::vector<std::string> warnings;
};

class target_check {
 public:
  target_check(net::cluster& cluster, const restore_plan& plan, target_check_options o)
      : cluster_(cluster), plan_(plan), o_(o) {}

  /// Target topics: authorization, partition counts, what must be created (validate-only).
  boost::asio::awaitable<kb::result<void>> async_check_target();
  /// The groups to commit: coordinator, Read on group and topics, no active members.
  boost::asio::awaitable<kb::result<void>> async_check_groups();
  /// The coordinator of `group` (FindCoordinator, retried while it loads).
  boost::asio::awaitable<kb::result<std::int32_t>> async_coordinator(const std::string& group);
  /// Authorized operations of `names` (topics that exist).
  boost::asio::awaitable<kb::result<std::map<std::string, std::int32_t>>> async_topic_ops(std::vector<std::string> names);
  [[nodiscard]] kb::result<void> check_commit_read(const std::map<std::string, std::int32_t>& ops) const {
    return restore::check_commit_read(plan_.group_offsets, ops);
  }

  [[nodiscard]] const target_facts& facts() const noexcept { return facts_; }

 private:
  std::int32_t any_node() const { return cluster_.brokers().begin()->first; }
  kb::result<std::optional<protocol::create_topics_request::topic>> check_topic(
      const planned_topic& t, const protocol::metadata_response::topic& md);
  boost::asio::awaitable<kb::result<void>> async_validate_creations(
      std::vector<protocol::create_topics_request::topic>& missing);
  void warn_short_retention();

  net::cluster& cluster_;
  const restore_plan& plan_;
  target_check_options o_;
  target_facts facts_;
};

}  // namespace kb::pipeline::restore
