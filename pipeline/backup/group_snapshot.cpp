#include "pipeline/backup/group_snapshot.hpp"

#include <algorithm>
#include <optional>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.hpp"
#include "pipeline/kafka_admin.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/list_groups.hpp"
#include "protocol/offset_fetch.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete; the pairing is Asio's and correct (as in
// backup_job.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::backup {

namespace asio = boost::asio;
namespace sf = storage::format;
using protocol::error_code;

group_error_action classify_group_error(std::int16_t code) noexcept {
  switch (static_cast<error_code>(code)) {
    case error_code::none: return group_error_action::ok;
    case error_code::coordinator_load_in_progress:
    case error_code::coordinator_not_available:
    case error_code::not_coordinator: return group_error_action::retry;
    case error_code::group_authorization_failed: return group_error_action::missing_acl;
    case error_code::group_id_not_found: return group_error_action::gone;
    default: return group_error_action::failed;
  }
}

std::string group_acl_command(std::string_view principal, std::string_view group, std::string_view bootstrap) {
  return fmt::format("kafka-acls.sh --bootstrap-server {} --command-config admin.properties --add "
                     "--allow-principal {} --operation Describe --group '{}'",
                     bootstrap.empty() ? "BROKER:PORT" : bootstrap,
                     principal.empty() ? "User:<the backup's principal>" : principal, group);
}

struct group_snapshotter::group_result {
  std::vector<sf::group_offset> offsets;
  std::optional<std::string> problem;  ///< why the group could not be read
  bool missing_acl = false;
};

group_snapshotter::group_snapshotter(std::shared_ptr<net::cluster> cluster, options o)
    : cluster_(std::move(cluster)), opts_(std::move(o)) {}

namespace {

std::string error_name(std::int16_t code) { return std::string(protocol::name(static_cast<error_code>(code))); }

}  // namespace

asio::awaitable<group_snapshotter::group_result> group_snapshotter::async_read_group(
    const std::string& gid, const std::set<std::string>& topics) {
  group_result out;
  std::string last = "no attempt";
  const int attempts = std::max(1, opts_.max_attempts);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      // The coordinator is loading the group or moved: wait a little and find it again.
      const auto delay = std::min<std::chrono::milliseconds>(opts_.retry_backoff * (1 << std::min(attempt, 6)),
                                                             std::chrono::seconds(2));
      asio::steady_timer t(co_await asio::this_coro::executor, delay);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    auto conn = co_await cluster_->async_any_connection();
    if (!conn) {
      last = conn.error().message;
      continue;
    }
    auto coord = co_await (*conn)->async_request(make_find_coordinator_request(gid));
    if (!coord) {
      last = fmt::format("FindCoordinator failed: {}", coord.error().message);
      continue;
    }
    const auto answer = read_coordinator(*coord);
    const std::int32_t node = answer.node;
    std::int16_t code = answer.error_code;
    const auto fc_action = classify_group_error(code);
    if (fc_action == group_error_action::missing_acl) {
      out.missing_acl = true;
      out.problem = fmt::format("FindCoordinator: {}", error_name(code));
      co_return out;
    }
    if (fc_action == group_error_action::gone) co_return out;
    if (fc_action == group_error_action::failed) {
      out.problem = fmt::format("FindCoordinator: {}", error_name(code));
      co_return out;
    }
    if (fc_action == group_error_action::retry || node < 0) {
      last = fmt::format("FindCoordinator: {}", code != 0 ? error_name(code) : std::string("no coordinator"));
      continue;
    }
    protocol::offset_fetch_request of;
    of.group_id = gid;
    protocol::offset_fetch_request::group g;
    g.group_id = gid;
    of.groups.push_back(g);
    auto resp = co_await cluster_->async_send(node, of);
    if (!resp) {
      last = fmt::format("OffsetFetch failed: {}", resp.error().message);
      continue;
    }
    code = resp->groups.empty() ? resp->error_code : resp->groups.front().error_code;
    const auto action = classify_group_error(code);
    if (action == group_error_action::retry) {
      last = fmt::format("OffsetFetch: {}", error_name(code));
      continue;
    }
    if (action == group_error_action::gone) co_return out;
    if (action != group_error_action::ok) {
      out.missing_acl = action == group_error_action::missing_acl;
      out.problem = fmt::format("OffsetFetch: {}", error_name(code));
      co_return out;
    }
    const auto& tlist = resp->groups.empty() ? resp->topics : resp->groups.front().topics;
    for (const auto& t : tlist) {
      if (!topics.count(t.name)) continue;
      for (const auto& p : t.partitions) {
        if (p.error_code != 0 || p.committed_offset < 0) continue;
        out.offsets.push_back({t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch,
                               p.metadata.value_or("")});
      }
    }
    co_return out;
  }
  out.problem = fmt::format("{} (still after {} attempts)", last, attempts);
  co_return out;
}

asio::awaitable<group_capture> group_snapshotter::async_capture(const std::set<std::string>& topics,
                                                                std::int64_t now_ms) {
  group_capture cap;
  cap.snapshot.captured_ms = now_ms;
  std::set<std::string> group_ids;
  bool list_failed = false;
  for (const auto& [node, b] : cluster_->brokers()) {
    auto resp = co_await cluster_->async_send(node, protocol::list_groups_request{});
    if (!resp) {
      log::warn("backup: ListGroups on broker {} failed: {}", node, resp.error().message);
      list_failed = true;
      continue;
    }
    if (resp->error_code != 0) {
      log::warn("backup: ListGroups on broker {}: {}", node, error_name(resp->error_code));
      list_failed = true;
      continue;
    }
    for (const auto& g : resp->groups)
      if (g.protocol_type == "consumer" || g.protocol_type.empty()) group_ids.insert(g.group_id);
  }
  cap.listed = group_ids.size();
  for (const auto& gid : group_ids) {
    auto r = co_await async_read_group(gid, topics);
    if (r.problem) {
      cap.not_captured.push_back({gid, r.missing_acl ? fmt::format("{}: Not authorized to access group; grant "
                                                                   "Describe on the group",
                                                                   *r.problem)
                                                     : *r.problem});
      continue;
    }
    if (!r.offsets.empty()) cap.snapshot.groups[gid] = std::move(r.offsets);
  }
  if (cap.listed == 0 && !list_failed && !warned_none_visible_) {
    // Kafka lists only the groups a principal may Describe (or all, with Describe on the
    // cluster): with no group ACL the list is empty and nothing says why.
    warned_none_visible_ = true;
    log::warn("backup: consumer_group_snapshot: no consumer group is visible to {}; Kafka lists only the groups a "
              "principal may Describe. If the cluster has consumer groups, grant it: {}",
              opts_.principal.empty() ? std::string("this principal") : opts_.principal,
              group_acl_command(opts_.principal, "*", opts_.bootstrap));
  }
  report(cap);
  co_return cap;
}

void group_snapshotter::report(const group_capture& c) {
  std::vector<std::string> denied, other;
  for (const auto& g : c.not_captured)
    (g.reason.find("GROUP_AUTHORIZATION_FAILED") != std::string::npos ? denied : other).push_back(g.group);
  if (!denied.empty() && !warned_acl_) {
    warned_acl_ = true;
    log::warn("backup: Not authorized to access group '{}'{}: the committed offsets of {} consumer group(s) are not "
              "captured (listed in backup.json groups_not_captured). {} needs Describe on the groups; grant it: {} "
              "(or --group '*' for every group)",
              denied.front(), denied.size() > 1 ? fmt::format(" and {} more", denied.size() - 1) : std::string(),
              denied.size(), opts_.principal.empty() ? std::string("The backup's principal") : opts_.principal,
              group_acl_command(opts_.principal, denied.front(), opts_.bootstrap));
  }
  if (other.empty()) return;
  std::vector<std::string> shown;
  for (const auto& g : c.not_captured) {
    if (g.reason.find("GROUP_AUTHORIZATION_FAILED") != std::string::npos) continue;
    if (shown.size() == 5) break;
    shown.push_back(fmt::format("'{}' ({})", g.group, g.reason));
  }
  log::warn("backup: the committed offsets of {} consumer group(s) are not captured (listed in backup.json "
            "groups_not_captured): {}{}",
            other.size(), fmt::join(shown, ", "), other.size() > shown.size() ? ", ..." : "");
}

}  // namespace kb::pipeline::backup
