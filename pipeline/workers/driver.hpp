// Runs a group_member over the network: sends what the state machine asks for to the group
// coordinator, feeds back the answers, wakes it on its timers and hands its events to the engine.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/wake_signal.hpp"
#include "pipeline/workers/group_member.hpp"

namespace kb::pipeline::workers {

/// What the engine does on the member's events (all on the cluster's executor).
struct member_hooks {
  /// New partitions for a generation: start work on them. Must not block.
  std::function<void(const assigned_event&)> on_assigned;
  /// Stop work on these partitions, seal, upload and commit; the member rejoins only once this
  /// returns (the acknowledgement). Heartbeats go on meanwhile, so it may take up to the
  /// rebalance timeout. Absent: acknowledged at once.
  std::function<boost::asio::awaitable<void>(revoked_event)> on_revoked;
};

/// Give it a cluster of its own: the broker parks a JoinGroup for up to the rebalance timeout
/// and answers nothing else on that connection meanwhile.
class member_driver {
 public:
  member_driver(boost::asio::any_io_executor ex, net::cluster& cluster, member_config cfg, member_hooks hooks);

  /// Runs until leave() has completed (ok) or the member hit a fatal error (that error).
  [[nodiscard]] boost::asio::awaitable<result<void>> async_run();

  /// Leave the group (LeaveGroup for a dynamic member); async_run then returns. Same executor.
  void leave();
  /// The leader's work items for the next assignment (same executor).
  void set_work(std::vector<work_item> items) { member_.set_work(std::move(items)); }

  [[nodiscard]] const group_member& member() const noexcept { return member_; }

 private:
  boost::asio::awaitable<void> async_exchange(member_request req);
  boost::asio::awaitable<result<std::shared_ptr<net::connection>>> async_coordinator_connection();
  /// Hands the member's events to the hooks; a fatal one is returned.
  std::optional<error> dispatch();

  boost::asio::any_io_executor ex_;
  net::cluster& cluster_;
  member_hooks hooks_;
  group_member member_;
  wake_signal wake_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  ///< revoke handlers outliving us
};

}  // namespace kb::pipeline::workers
