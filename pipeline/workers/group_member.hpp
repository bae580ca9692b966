// The scale-out group member: Kafka's classic group membership (JoinGroup / SyncGroup /
// Heartbeat / LeaveGroup, protocol type "kafka-backup") as an explicit sans-I/O state machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/error.hpp"
#include "pipeline/workers/assignor.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/heartbeat.hpp"
#include "protocol/join_group.hpp"
#include "protocol/leave_group.hpp"
#include "protocol/sync_group.hpp"

namespace kb::pipeline::workers {

/// The group's protocol type: consumer tooling shows it and does not take the group for its own.
inline constexpr std::string_view protocol_type = "kafka-backup";
/// The one protocol (assignor) every member offers.
inline constexpr std::string_view protocol_name = "kb-bytes-v1";

struct member_config {
  std::string group_id;
  std::optional<std::string> instance_id;            ///< KIP-345 static membership
  std::chrono::milliseconds session_timeout{45'000};  ///< KIP-62: no heartbeat this long = dead
  std::chrono::milliseconds rebalance_timeout{60'000};  ///< how long a rebalance waits for rejoins
  std::chrono::milliseconds heartbeat_interval{3'000};  ///< capped at session_timeout / 3
  std::chrono::milliseconds retry_backoff{200};       ///< before a retried FindCoordinator / JoinGroup
};

/// unjoined → joining → awaiting_sync → stable → revoking → unjoined …; leaving → dead.
/// The coordinator is looked up (FindCoordinator) whenever it is unknown, in any state.
enum class member_state { unjoined, joining, awaiting_sync, stable, revoking, leaving, dead };
[[nodiscard]] std::string_view name(member_state s) noexcept;

/// What the engine hears. `revoked` must be acknowledged (ack_revoke) before the member rejoins:
/// the backup seals, uploads and commits what it holds first. `lost` says the partitions may
/// already belong to another member (our session expired or the coordinator fenced us).
struct assigned_event {
  std::vector<topic_partition> partitions;
  std::int32_t generation = -1;
};
struct revoked_event {
  std::vector<topic_partition> partitions;
  bool lost = false;
};
struct fatal_event {
  error err;
};
using member_event = std::variant<assigned_event, revoked_event, fatal_event>;

/// The request to send next. FindCoordinator goes to any broker, the rest to coordinator().
using member_request = std::variant<protocol::find_coordinator_request, protocol::join_group_request,
                                    protocol::sync_group_request, protocol::heartbeat_request,
                                    protocol::leave_group_request>;

/// Sans-I/O: time is passed in, requests come out of poll(), answers go in through on_*().
/// At most one request is outstanding; the caller sends what poll() returns and feeds back its
/// answer (or on_transport_error) before polling for the next.
class group_member {
 public:
  using clock = std::chrono::steady_clock;

  group_member(member_config cfg, clock::time_point now);

  /// The partitions and their weights the leader assigns (asked at each assignment the leader makes).
  void set_work(std::vector<work_item> items) { work_ = std::move(items); }

  /// The next request, if one is due now (timers included); nullopt while one is outstanding.
  [[nodiscard]] std::optional<member_request> poll(clock::time_point now);
  /// When poll() should be called again at the latest (a heartbeat, a back-off, the session check).
  [[nodiscard]] clock::time_point next_deadline() const noexcept;

  void on_find_coordinator(const protocol::find_coordinator_response& r, clock::time_point now);
  void on_join(const protocol::join_group_response& r, clock::time_point now);
  void on_sync(const protocol::sync_group_response& r, clock::time_point now);
  void on_heartbeat(const protocol::heartbeat_response& r, clock::time_point now);
  void on_leave(const protocol::leave_group_response& r, clock::time_point now);
  /// The outstanding request got no answer (connection lost, timeout): the coordinator is looked
  /// up again; a FindCoordinator failure backs off and retries.
  void on_transport_error(const error& e, clock::time_point now);

  /// The engine has sealed and committed the revoked partitions: the member may rejoin.
  void ack_revoke(clock::time_point now);
  /// Leave the group (shutdown). A dynamic member sends LeaveGroup so its partitions move at
  /// once; a static one (instance_id) does not, so a restart within the session keeps them.
  void leave(clock::time_point now);

  /// Events since the last call, in order.
  [[nodiscard]] std::vector<member_event> take_events();

  [[nodiscard]] member_state state() const noexcept { return state_; }
  [[nodiscard]] std::int32_t coordinator() const noexcept { return coordinator_; }
  [[nodiscard]] const std::string& member_id() const noexcept { return member_id_; }
  [[nodiscard]] std::int32_t generation() const noexcept { return generation_; }
  [[nodiscard]] bool is_leader() const noexcept { return !leader_id_.empty() && leader_id_ == member_id_; }
  [[nodiscard]] const std::vector<topic_partition>& owned() const noexcept { return owned_; }
  [[nodiscard]] const member_config& config() const noexcept { return cfg_; }
  /// The leader's last assignment (member id -> partitions); empty on other members.
  [[nodiscard]] const assignment& last_assignment() const noexcept { return last_assignment_; }

 private:
  enum class outstanding { none, find_coordinator, join, sync, heartbeat, leave };

  /// Handles the codes every API shares; true when it did (the caller stops).
  bool common_error(std::int16_t code, std::string_view api, clock::time_point now);
  void rejoin(clock::time_point now, bool reset_member_id);
  void begin_revoke(bool lost, clock::time_point now);
  void lose_coordinator(clock::time_point now);
  [[nodiscard]] bool can_heartbeat() const noexcept;
  void die(error e);  ///< dead, with a fatal event
  void stable_from(clock::time_point now);
  [[nodiscard]] protocol::join_group_request make_join() const;
  [[nodiscard]] result<protocol::sync_group_request> make_sync(const protocol::join_group_response& r);

  member_config cfg_;
  member_state state_ = member_state::unjoined;
  outstanding outstanding_ = outstanding::none;
  std::int32_t coordinator_ = -1;
  std::string member_id_;
  std::int32_t generation_ = -1;
  std::string leader_id_;
  std::vector<topic_partition> owned_;
  std::vector<topic_partition> previous_;  ///< the last assignment, offered for stickiness
  std::optional<protocol::sync_group_request> pending_sync_;
  std::vector<work_item> work_;
  assignment last_assignment_;
  std::vector<member_event> events_;
  clock::time_point not_before_;      ///< back-off: no request before this
  clock::time_point next_heartbeat_;  ///< stable / revoking
  clock::time_point last_heartbeat_ok_;
  bool leave_requested_ = false;
};

}  // namespace kb::pipeline::workers
