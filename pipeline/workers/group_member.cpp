#include "pipeline/workers/group_member.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "net/cluster.hpp"
#include "pipeline/kafka_admin.hpp"
#include "protocol/error_codes.hpp"

namespace kb::pipeline::workers {

namespace {

using protocol::error_code;

byte_vector to_bytes(const std::vector<std::byte>& in) {
  byte_vector out(in.size());
  std::transform(in.begin(), in.end(), out.begin(), [](std::byte b) { return static_cast<std::uint8_t>(b); });
  return out;
}

std::string code_name(std::int16_t code) { return std::string(protocol::name(static_cast<error_code>(code))); }

}  // namespace

std::string_view name(member_state s) noexcept {
  switch (s) {
    case member_state::unjoined: return "unjoined";
    case member_state::joining: return "joining";
    case member_state::awaiting_sync: return "awaiting_sync";
    case member_state::stable: return "stable";
    case member_state::revoking: return "revoking";
    case member_state::leaving: return "leaving";
    case member_state::dead: return "dead";
  }
  return "unknown";
}

group_member::group_member(member_config cfg, clock::time_point now)
    : cfg_(std::move(cfg)), not_before_(now), next_heartbeat_(now), last_heartbeat_ok_(now) {
  // KIP-62: a heartbeat a third of the session keeps two lost heartbeats from ending it.
  cfg_.heartbeat_interval = std::min(cfg_.heartbeat_interval, cfg_.session_timeout / 3);
  if (cfg_.heartbeat_interval.count() <= 0) cfg_.heartbeat_interval = std::chrono::milliseconds(1);
}

std::vector<member_event> group_member::take_events() { return std::exchange(events_, {}); }

bool group_member::can_heartbeat() const noexcept {
  return (state_ == member_state::stable || state_ == member_state::revoking) && !member_id_.empty() &&
         generation_ >= 0;
}

group_member::clock::time_point group_member::next_deadline() const noexcept {
  clock::time_point at = clock::time_point::max();
  if (state_ == member_state::dead || outstanding_ != outstanding::none) return at;
  const bool leaving = leave_requested_ && state_ != member_state::revoking;
  if (coordinator_ < 0 || leaving || state_ == member_state::unjoined ||
      (state_ == member_state::awaiting_sync && pending_sync_))
    return not_before_;
  if (can_heartbeat()) at = std::max(next_heartbeat_, not_before_);
  if (state_ == member_state::stable) at = std::min(at, last_heartbeat_ok_ + cfg_.session_timeout);
  return at;
}

std::optional<member_request> group_member::poll(clock::time_point now) {
  if (state_ == member_state::dead || outstanding_ != outstanding::none) return std::nullopt;
  // No answered heartbeat for a whole session: the coordinator has expelled us and another
  // member may own our partitions by now (librdkafka's "session timed out").
  if (state_ == member_state::stable && now >= last_heartbeat_ok_ + cfg_.session_timeout) {
    if (!cfg_.instance_id) member_id_.clear();
    generation_ = -1;
    begin_revoke(true, now);
  }
  // A leave waits for the engine's acknowledgement of a revoke: it still writes those partitions.
  if (leave_requested_ && state_ != member_state::leaving && state_ != member_state::revoking) {
    if (member_id_.empty() || cfg_.instance_id || coordinator_ < 0) {
      state_ = member_state::dead;
      return std::nullopt;
    }
    state_ = member_state::leaving;
  }
  if (now < not_before_) return std::nullopt;
  if (coordinator_ < 0) {
    outstanding_ = outstanding::find_coordinator;
    return make_find_coordinator_request(cfg_.group_id);
  }
  switch (state_) {
    case member_state::unjoined:
      state_ = member_state::joining;
      outstanding_ = outstanding::join;
      return make_join();
    case member_state::awaiting_sync:
      if (!pending_sync_) return std::nullopt;
      outstanding_ = outstanding::sync;
      return std::exchange(pending_sync_, std::nullopt);
    case member_state::stable:
    case member_state::revoking: {
      // A revoke after our membership ended has nobody to heartbeat for.
      if (now < next_heartbeat_ || !can_heartbeat()) return std::nullopt;
      outstanding_ = outstanding::heartbeat;
      protocol::heartbeat_request hb;
      hb.group_id = cfg_.group_id;
      hb.generation_id = generation_;
      hb.member_id = member_id_;
      hb.group_instance_id = cfg_.instance_id;
      return hb;
    }
    case member_state::leaving: {
      outstanding_ = outstanding::leave;
      protocol::leave_group_request req;
      req.group_id = cfg_.group_id;
      req.member_id = member_id_;  // v0-2
      req.members.push_back({member_id_, cfg_.instance_id, std::string("kafka-backup worker shutting down")});
      return req;
    }
    case member_state::joining:
    case member_state::dead: break;
  }
  return std::nullopt;
}

void group_member::on_find_coordinator(const protocol::find_coordinator_response& r, clock::time_point now) {
  outstanding_ = outstanding::none;
  const coordinator_answer a = read_coordinator(r);
  if (a.error_code == 0 && a.node >= 0) {
    coordinator_ = a.node;
    return;
  }
  switch (protocol::classify(a.error_code)) {
    case protocol::error_class::none:  // no node named yet
    case protocol::error_class::find_coordinator:
    case protocol::error_class::retriable: not_before_ = now + cfg_.retry_backoff; return;
    default: die(net::group_error(a.error_code, cfg_.group_id, {}));
  }
}

void group_member::on_join(const protocol::join_group_response& r, clock::time_point now) {
  outstanding_ = outstanding::none;
  if (state_ != member_state::joining) return;  // a leave overtook it
  switch (static_cast<error_code>(r.error_code)) {
    case error_code::none: break;
    case error_code::member_id_required:  // KIP-394: the broker hands out our id; join again with it
      member_id_ = r.member_id;
      state_ = member_state::unjoined;
      return;
    case error_code::unknown_member_id: rejoin(now, true); return;
    case error_code::illegal_generation:
    case error_code::rebalance_in_progress: rejoin(now, false); return;
    default:
      if (!common_error(r.error_code, "JoinGroup", now)) return;
      state_ = member_state::unjoined;
      return;
  }
  if (r.protocol_type && *r.protocol_type != protocol_type) {
    die(error{make_error_code(errc::conflict), fmt::format("group '{}' has protocol type '{}', not '{}': another kind of client uses "
                                           "this group id; choose another workers.group_id",
                                           cfg_.group_id, *r.protocol_type, protocol_type)});
    return;
  }
  member_id_ = r.member_id;
  generation_ = r.generation_id;
  leader_id_ = r.leader;
  auto sync = make_sync(r);
  if (!sync) {
    die(std::move(sync.error()));
    return;
  }
  pending_sync_ = std::move(*sync);
  state_ = member_state::awaiting_sync;
}

void group_member::on_sync(const protocol::sync_group_response& r, clock::time_point now) {
  outstanding_ = outstanding::none;
  if (state_ != member_state::awaiting_sync) return;
  switch (static_cast<error_code>(r.error_code)) {
    case error_code::none: break;
    case error_code::unknown_member_id: rejoin(now, true); return;
    case error_code::illegal_generation:
    case error_code::rebalance_in_progress: rejoin(now, false); return;
    default:
      if (!common_error(r.error_code, "SyncGroup", now)) return;
      state_ = member_state::unjoined;
      return;
  }
  std::vector<topic_partition> mine;
  if (!r.assignment.empty()) {  // a leader that had nothing for us may send no bytes at all
    auto decoded = decode_assignment(byte_view(r.assignment));
    if (!decoded) {
      die(error{make_error_code(errc::protocol), fmt::format("the assignment group '{}' sent for generation {} is unreadable: {}",
                                             cfg_.group_id, generation_, decoded.error().message)});
      return;
    }
    if (decoded->generation != generation_) {  // made for another generation: ask again
      rejoin(now, false);
      return;
    }
    mine = std::move(decoded->partitions);
  }
  owned_ = mine;
  previous_ = mine;
  events_.push_back(assigned_event{std::move(mine), generation_});
  stable_from(now);
}

void group_member::on_heartbeat(const protocol::heartbeat_response& r, clock::time_point now) {
  outstanding_ = outstanding::none;
  next_heartbeat_ = now + cfg_.heartbeat_interval;
  switch (static_cast<error_code>(r.error_code)) {
    case error_code::none: last_heartbeat_ok_ = now; return;
    case error_code::rebalance_in_progress:  // our session is alive; a new generation forms
      last_heartbeat_ok_ = now;
      if (state_ == member_state::stable) begin_revoke(false, now);
      return;
    case error_code::unknown_member_id:  // expelled: our partitions may be someone else's already
      if (!cfg_.instance_id) member_id_.clear();
      generation_ = -1;
      if (state_ == member_state::stable) begin_revoke(true, now);
      return;
    case error_code::illegal_generation:
      generation_ = -1;
      if (state_ == member_state::stable) begin_revoke(true, now);
      return;
    default:
      if (!common_error(r.error_code, "Heartbeat", now)) return;
      next_heartbeat_ = now + cfg_.retry_backoff;
      return;
  }
}

void group_member::on_leave(const protocol::leave_group_response&, clock::time_point) {
  // Whatever the answer, we are gone: the session timeout removes a member the leave missed.
  outstanding_ = outstanding::none;
  state_ = member_state::dead;
}

void group_member::on_transport_error(const error& e, clock::time_point now) {
  const outstanding was = std::exchange(outstanding_, outstanding::none);
  if (!is_retriable_transport(e)) {  // TLS, SASL, authorization: retrying cannot fix it
    die(e);
    return;
  }
  if (was == outstanding::leave) {
    state_ = member_state::dead;
    return;
  }
  if (was == outstanding::find_coordinator) {
    not_before_ = now + cfg_.retry_backoff;
    return;
  }
  lose_coordinator(now);
}

void group_member::ack_revoke(clock::time_point now) {
  if (state_ != member_state::revoking) return;
  owned_.clear();
  state_ = member_state::unjoined;
  not_before_ = std::min(not_before_, now);
}

void group_member::leave(clock::time_point) { leave_requested_ = true; }

bool group_member::common_error(std::int16_t code, std::string_view api, clock::time_point now) {
  switch (protocol::classify(code)) {
    case protocol::error_class::find_coordinator: lose_coordinator(now); return true;
    case protocol::error_class::retriable:  // COORDINATOR_LOAD_IN_PROGRESS and the like
      not_before_ = now + cfg_.retry_backoff;
      return true;
    case protocol::error_class::authorization: die(net::group_error(code, cfg_.group_id, {})); return false;
    default: break;
  }
  std::string hint;
  switch (static_cast<error_code>(code)) {
    case error_code::fenced_instance_id:
      hint = fmt::format(": another process joined with workers.instance_id '{}'; give every worker its own",
                         cfg_.instance_id.value_or(""));
      break;
    case error_code::invalid_session_timeout:
      hint = fmt::format(": workers.session_timeout_ms {} is outside the broker's group.min.session.timeout.ms .. "
                         "group.max.session.timeout.ms",
                         cfg_.session_timeout.count());
      break;
    case error_code::inconsistent_group_protocol:
      hint = ": another kind of client (a consumer?) uses this group id; choose another workers.group_id";
      break;
    case error_code::group_max_size_reached: hint = ": the broker's group.max.size is reached"; break;
    default: break;
  }
  die(error{make_error_code(errc::broker), fmt::format("{} for group '{}': {}{}", api, cfg_.group_id, code_name(code), hint)});
  return false;
}

void group_member::rejoin(clock::time_point now, bool reset_member_id) {
  if (reset_member_id && !cfg_.instance_id) member_id_.clear();
  if (reset_member_id) generation_ = -1;
  state_ = member_state::unjoined;
  not_before_ = std::min(not_before_, now);
}

void group_member::begin_revoke(bool lost, clock::time_point now) {
  if (lost) previous_.clear();  // another member may hold them: do not claim them back
  if (owned_.empty()) {         // nothing to seal: join again at once
    state_ = member_state::unjoined;
    not_before_ = std::min(not_before_, now);
    return;
  }
  state_ = member_state::revoking;
  events_.push_back(revoked_event{owned_, lost});
}

void group_member::lose_coordinator(clock::time_point now) {
  coordinator_ = -1;
  not_before_ = now + cfg_.retry_backoff;
  pending_sync_.reset();
  if (state_ == member_state::joining || state_ == member_state::awaiting_sync) state_ = member_state::unjoined;
}

void group_member::die(error e) {
  state_ = member_state::dead;
  pending_sync_.reset();
  events_.push_back(fatal_event{std::move(e)});
}

void group_member::stable_from(clock::time_point now) {
  state_ = member_state::stable;
  last_heartbeat_ok_ = now;
  next_heartbeat_ = now + cfg_.heartbeat_interval;
}

protocol::join_group_request group_member::make_join() const {
  protocol::join_group_request req;
  req.group_id = cfg_.group_id;
  req.session_timeout_ms = static_cast<std::int32_t>(cfg_.session_timeout.count());
  req.rebalance_timeout_ms = static_cast<std::int32_t>(cfg_.rebalance_timeout.count());
  req.member_id = member_id_;
  req.group_instance_id = cfg_.instance_id;
  req.protocol_type = std::string(protocol_type);
  // The previous assignment travels along so the leader's assignor can keep it (stickiness).
  req.protocols.push_back({std::string(protocol_name), to_bytes(encode_member_metadata({member_id_, previous_}))});
  req.reason = std::string("kafka-backup worker joining");
  return req;
}

result<protocol::sync_group_request> group_member::make_sync(const protocol::join_group_response& r) {
  protocol::sync_group_request req;
  req.group_id = cfg_.group_id;
  req.generation_id = r.generation_id;
  req.member_id = member_id_;
  req.group_instance_id = cfg_.instance_id;
  req.protocol_type = std::string(protocol_type);
  req.protocol_name = r.protocol_name;
  last_assignment_.clear();
  // KIP-814: a static leader rejoining a stable group must not reassign.
  if (!is_leader() || r.skip_assignment) return req;
  std::vector<member_input> members;
  for (const auto& m : r.members) {
    auto in = decode_member_metadata(byte_view(m.metadata));
    if (!in)
      return kb::fail(errc::protocol, fmt::format("group '{}': the metadata of member '{}' is unreadable: {}",
                                              cfg_.group_id, m.member_id, in.error().message));
    in->member_id = m.member_id;  // the coordinator's id is authoritative
    members.push_back(std::move(*in));
  }
  last_assignment_ = assign(members, work_);
  for (const auto& [id, parts] : last_assignment_)
    req.assignments.push_back({id, to_bytes(encode_assignment(parts, r.generation_id))});
  return req;
}

}  // namespace kb::pipeline::workers
