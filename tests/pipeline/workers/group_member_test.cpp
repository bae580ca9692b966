// The group member's state machine, broker-free: every transition from scripted answers and
// time passed in (no sleeps, no sockets).
#include "pipeline/workers/group_member.hpp"

#include <gtest/gtest.h>

#include "protocol/error_codes.hpp"

namespace kb::pipeline::workers {
namespace {

using namespace std::chrono_literals;
using clock = group_member::clock;
using protocol::error_code;

constexpr std::int16_t code(error_code c) { return static_cast<std::int16_t>(c); }

byte_vector bytes(const std::vector<std::byte>& in) {
  byte_vector out;
  for (auto b : in) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

member_config config() {
  member_config c;
  c.group_id = "g";
  c.session_timeout = 10'000ms;
  c.rebalance_timeout = 20'000ms;
  c.heartbeat_interval = 3'000ms;
  c.retry_backoff = 100ms;
  return c;
}

protocol::find_coordinator_response coordinator_at(std::int32_t node, std::int16_t err = 0) {
  protocol::find_coordinator_response r;
  r.coordinators.push_back({"g", node, "127.0.0.1", 9092, err, std::nullopt});
  return r;
}

template <class T>
T expect_request(group_member& m, clock::time_point now) {
  auto req = m.poll(now);
  EXPECT_TRUE(req.has_value()) << "no request in state " << name(m.state());
  if (!req) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*req)) << "another request kind (index " << req->index() << ")";
  if (!std::holds_alternative<T>(*req)) return T{};
  return std::get<T>(*req);
}

protocol::join_group_response joined(const std::string& me, const std::string& leader, std::int32_t gen,
                                     std::vector<std::string> members = {}) {
  protocol::join_group_response r;
  r.generation_id = gen;
  r.member_id = me;
  r.leader = leader;
  r.protocol_type = std::string(protocol_type);
  r.protocol_name = std::string(protocol_name);
  for (const auto& id : members)
    r.members.push_back({id, std::nullopt, bytes(encode_member_metadata({id, {}}))});
  return r;
}

protocol::sync_group_response synced(std::vector<topic_partition> parts, std::int32_t gen) {
  protocol::sync_group_response r;
  r.assignment = bytes(encode_assignment(parts, gen));
  return r;
}

// Brings a fresh member to `stable` at generation 1 as a follower owning t-0 and t-1.
struct fixture : testing::Test {
  clock::time_point t0 = clock::time_point{} + 1000s;
  group_member m{config(), t0};
  std::vector<topic_partition> parts{{"t", 0}, {"t", 1}};

  void to_stable() {
    expect_request<protocol::find_coordinator_request>(m, t0);
    m.on_find_coordinator(coordinator_at(3), t0);
    expect_request<protocol::join_group_request>(m, t0);
    m.on_join(joined("m1", "m0", 1), t0);
    expect_request<protocol::sync_group_request>(m, t0);
    m.on_sync(synced(parts, 1), t0);
    ASSERT_EQ(m.state(), member_state::stable);
    auto ev = m.take_events();
    ASSERT_EQ(ev.size(), 1u);
  }
};

TEST_F(fixture, finds_the_coordinator_first_then_joins_with_protocol_type_and_timeouts) {
  EXPECT_EQ(m.state(), member_state::unjoined);
  auto fc = expect_request<protocol::find_coordinator_request>(m, t0);
  EXPECT_EQ(fc.coordinator_keys, std::vector<std::string>{"g"});
  EXPECT_FALSE(m.poll(t0)) << "one request at a time";
  m.on_find_coordinator(coordinator_at(3), t0);
  EXPECT_EQ(m.coordinator(), 3);
  auto join = expect_request<protocol::join_group_request>(m, t0);
  EXPECT_EQ(m.state(), member_state::joining);
  EXPECT_EQ(join.protocol_type, "kafka-backup");
  EXPECT_EQ(join.session_timeout_ms, 10'000);
  EXPECT_EQ(join.rebalance_timeout_ms, 20'000);
  EXPECT_EQ(join.member_id, "");
  ASSERT_EQ(join.protocols.size(), 1u);
  EXPECT_EQ(join.protocols[0].name, protocol_name);
}

TEST_F(fixture, coordinator_not_available_backs_off_and_asks_again) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(-1, code(error_code::coordinator_not_available)), t0);
  EXPECT_EQ(m.coordinator(), -1);
  EXPECT_FALSE(m.poll(t0 + 50ms)) << "backing off";
  EXPECT_EQ(m.next_deadline(), t0 + 100ms);
  expect_request<protocol::find_coordinator_request>(m, t0 + 100ms);
}

TEST_F(fixture, group_authorization_failed_is_fatal_and_names_the_group) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(-1, code(error_code::group_authorization_failed)), t0);
  EXPECT_EQ(m.state(), member_state::dead);
  auto ev = m.take_events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& f = std::get<fatal_event>(ev[0]);
  EXPECT_TRUE(f.err.is(errc::authorization));
  EXPECT_NE(f.err.message.find("'g'"), std::string::npos) << f.err.message;
  EXPECT_FALSE(m.poll(t0 + 1h));
}

TEST_F(fixture, member_id_required_rejoins_at_once_with_the_given_id) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  protocol::join_group_response r;
  r.error_code = code(error_code::member_id_required);
  r.member_id = "m1-uuid";
  m.on_join(r, t0);
  EXPECT_EQ(m.state(), member_state::unjoined);
  auto again = expect_request<protocol::join_group_request>(m, t0);
  EXPECT_EQ(again.member_id, "m1-uuid");
}

TEST_F(fixture, follower_syncs_with_no_assignments_and_gets_its_partitions) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  m.on_join(joined("m1", "m0", 7), t0);
  EXPECT_EQ(m.state(), member_state::awaiting_sync);
  EXPECT_FALSE(m.is_leader());
  auto sync = expect_request<protocol::sync_group_request>(m, t0);
  EXPECT_EQ(sync.generation_id, 7);
  EXPECT_EQ(sync.member_id, "m1");
  EXPECT_TRUE(sync.assignments.empty());
  m.on_sync(synced(parts, 7), t0);
  EXPECT_EQ(m.state(), member_state::stable);
  auto ev = m.take_events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& a = std::get<assigned_event>(ev[0]);
  EXPECT_EQ(a.partitions, parts);
  EXPECT_EQ(a.generation, 7);
  EXPECT_EQ(m.owned(), parts);
}

TEST_F(fixture, leader_assigns_every_partition_to_exactly_one_member) {
  std::vector<work_item> work;
  for (int p = 0; p < 6; ++p) work.push_back({{"t", p}, 100});
  m.set_work(work);
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  m.on_join(joined("a", "a", 2, {"a", "b", "c"}), t0);
  EXPECT_TRUE(m.is_leader());
  auto sync = expect_request<protocol::sync_group_request>(m, t0);
  ASSERT_EQ(sync.assignments.size(), 3u);
  std::map<topic_partition, int> seen;
  for (const auto& a : sync.assignments) {
    auto d = decode_assignment(byte_view(a.assignment));
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->generation, 2);
    EXPECT_EQ(d->partitions.size(), 2u) << a.member_id;
    for (const auto& tp : d->partitions) ++seen[tp];
  }
  EXPECT_EQ(seen.size(), 6u);
  for (const auto& [tp, n] : seen) EXPECT_EQ(n, 1) << tp.topic << "-" << tp.partition;
}

TEST_F(fixture, unreadable_member_metadata_is_fatal_for_the_leader) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  auto r = joined("a", "a", 2, {"a"});
  r.members.push_back({"b", std::nullopt, byte_vector{0x00}});
  m.on_join(r, t0);
  EXPECT_EQ(m.state(), member_state::dead);
  auto ev = m.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_NE(std::get<fatal_event>(ev[0]).err.message.find("'b'"), std::string::npos);
}

TEST_F(fixture, a_foreign_protocol_type_is_fatal) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  auto r = joined("m1", "m0", 1);
  r.protocol_type = "consumer";
  m.on_join(r, t0);
  EXPECT_EQ(m.state(), member_state::dead);
  EXPECT_TRUE(std::get<fatal_event>(m.take_events().at(0)).err.is(errc::conflict));
}

TEST_F(fixture, inconsistent_group_protocol_is_fatal_with_the_fix) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  protocol::join_group_response r;
  r.error_code = code(error_code::inconsistent_group_protocol);
  m.on_join(r, t0);
  EXPECT_EQ(m.state(), member_state::dead);
  const auto msg = std::get<fatal_event>(m.take_events().at(0)).err.message;
  EXPECT_NE(msg.find("workers.group_id"), std::string::npos) << msg;
}

TEST_F(fixture, join_rebalance_in_progress_and_unknown_member_rejoin) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  protocol::join_group_response r;
  r.error_code = code(error_code::member_id_required);
  r.member_id = "x";
  m.on_join(r, t0);
  expect_request<protocol::join_group_request>(m, t0);
  r.error_code = code(error_code::rebalance_in_progress);
  m.on_join(r, t0);
  EXPECT_EQ(expect_request<protocol::join_group_request>(m, t0).member_id, "x");
  r.error_code = code(error_code::unknown_member_id);
  m.on_join(r, t0);
  EXPECT_EQ(expect_request<protocol::join_group_request>(m, t0).member_id, "") << "a fresh id is asked for";
}

TEST_F(fixture, not_coordinator_during_join_finds_the_coordinator_again) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  protocol::join_group_response r;
  r.error_code = code(error_code::not_coordinator);
  m.on_join(r, t0);
  EXPECT_EQ(m.coordinator(), -1);
  EXPECT_EQ(m.state(), member_state::unjoined);
  expect_request<protocol::find_coordinator_request>(m, t0 + 100ms);
  m.on_find_coordinator(coordinator_at(5), t0 + 100ms);
  EXPECT_EQ(m.coordinator(), 5);
  expect_request<protocol::join_group_request>(m, t0 + 100ms);
}

TEST_F(fixture, coordinator_load_in_progress_backs_off_then_rejoins) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  protocol::join_group_response r;
  r.error_code = code(error_code::coordinator_load_in_progress);
  m.on_join(r, t0);
  EXPECT_FALSE(m.poll(t0 + 10ms));
  expect_request<protocol::join_group_request>(m, t0 + 100ms);
}

TEST_F(fixture, sync_errors_rejoin) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  m.on_join(joined("m1", "m0", 1), t0);
  expect_request<protocol::sync_group_request>(m, t0);
  protocol::sync_group_response r;
  r.error_code = code(error_code::rebalance_in_progress);
  m.on_sync(r, t0);
  EXPECT_EQ(m.state(), member_state::unjoined);
  EXPECT_EQ(expect_request<protocol::join_group_request>(m, t0).member_id, "m1");
  m.on_join(joined("m1", "m0", 2), t0);
  expect_request<protocol::sync_group_request>(m, t0);
  r.error_code = code(error_code::illegal_generation);
  m.on_sync(r, t0);
  EXPECT_EQ(m.state(), member_state::unjoined);
  EXPECT_TRUE(m.take_events().empty()) << "nothing was assigned";
}

TEST_F(fixture, an_assignment_for_another_generation_rejoins) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  m.on_join(joined("m1", "m0", 4), t0);
  expect_request<protocol::sync_group_request>(m, t0);
  m.on_sync(synced(parts, 3), t0);
  EXPECT_EQ(m.state(), member_state::unjoined);
  EXPECT_TRUE(m.take_events().empty());
}

TEST_F(fixture, empty_assignment_bytes_mean_no_partitions) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(m, t0);
  m.on_join(joined("m1", "m0", 1), t0);
  expect_request<protocol::sync_group_request>(m, t0);
  m.on_sync(protocol::sync_group_response{}, t0);
  EXPECT_EQ(m.state(), member_state::stable);
  EXPECT_TRUE(std::get<assigned_event>(m.take_events().at(0)).partitions.empty());
}

TEST_F(fixture, heartbeats_every_interval_while_stable) {
  to_stable();
  EXPECT_FALSE(m.poll(t0 + 2'999ms));
  EXPECT_EQ(m.next_deadline(), t0 + 3'000ms);
  auto hb = expect_request<protocol::heartbeat_request>(m, t0 + 3'000ms);
  EXPECT_EQ(hb.generation_id, 1);
  EXPECT_EQ(hb.member_id, "m1");
  m.on_heartbeat(protocol::heartbeat_response{}, t0 + 3'010ms);
  EXPECT_EQ(m.next_deadline(), t0 + 6'010ms);
  expect_request<protocol::heartbeat_request>(m, t0 + 6'010ms);
}

TEST_F(fixture, heartbeat_interval_is_capped_at_a_third_of_the_session) {
  auto c = config();
  c.heartbeat_interval = 9'000ms;
  group_member g(c, t0);
  EXPECT_EQ(g.config().heartbeat_interval, 3'333ms);
}

TEST_F(fixture, rebalance_in_progress_revokes_and_waits_for_the_engine_before_rejoining) {
  to_stable();
  expect_request<protocol::heartbeat_request>(m, t0 + 3s);
  protocol::heartbeat_response r;
  r.error_code = code(error_code::rebalance_in_progress);
  m.on_heartbeat(r, t0 + 3s);
  EXPECT_EQ(m.state(), member_state::revoking);
  auto ev = m.take_events();
  ASSERT_EQ(ev.size(), 1u);
  const auto& rv = std::get<revoked_event>(ev[0]);
  EXPECT_EQ(rv.partitions, parts);
  EXPECT_FALSE(rv.lost);
  // The engine is still sealing: no JoinGroup, but heartbeats keep the session alive.
  auto hb = m.poll(t0 + 6s);
  ASSERT_TRUE(hb);
  EXPECT_TRUE(std::holds_alternative<protocol::heartbeat_request>(*hb));
  m.on_heartbeat(r, t0 + 6s);
  EXPECT_EQ(m.state(), member_state::revoking);
  EXPECT_FALSE(m.poll(t0 + 7s));
  m.ack_revoke(t0 + 7s);
  EXPECT_EQ(m.state(), member_state::unjoined);
  EXPECT_TRUE(m.owned().empty());
  auto join = expect_request<protocol::join_group_request>(m, t0 + 7s);
  EXPECT_EQ(join.member_id, "m1");
  // The previous assignment is offered so the assignor can keep it.
  auto meta = decode_member_metadata(byte_view(join.protocols.at(0).metadata));
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->owned, parts);
}

TEST_F(fixture, unknown_member_on_heartbeat_revokes_as_lost) {
  to_stable();
  expect_request<protocol::heartbeat_request>(m, t0 + 3s);
  protocol::heartbeat_response r;
  r.error_code = code(error_code::unknown_member_id);
  m.on_heartbeat(r, t0 + 3s);
  EXPECT_EQ(m.state(), member_state::revoking);
  EXPECT_TRUE(std::get<revoked_event>(m.take_events().at(0)).lost);
  EXPECT_FALSE(m.poll(t0 + 10s)) << "no heartbeat for a membership that ended";
  m.ack_revoke(t0 + 10s);
  auto join = expect_request<protocol::join_group_request>(m, t0 + 10s);
  EXPECT_EQ(join.member_id, "");
  auto meta = decode_member_metadata(byte_view(join.protocols.at(0).metadata));
  ASSERT_TRUE(meta);
  EXPECT_TRUE(meta->owned.empty()) << "lost partitions are not claimed back";
}

TEST_F(fixture, illegal_generation_on_heartbeat_revokes_as_lost) {
  to_stable();
  expect_request<protocol::heartbeat_request>(m, t0 + 3s);
  protocol::heartbeat_response r;
  r.error_code = code(error_code::illegal_generation);
  m.on_heartbeat(r, t0 + 3s);
  EXPECT_TRUE(std::get<revoked_event>(m.take_events().at(0)).lost);
  EXPECT_EQ(m.member_id(), "m1");
}

TEST_F(fixture, session_expiry_without_answers_revokes_as_lost) {
  to_stable();
  expect_request<protocol::heartbeat_request>(m, t0 + 3s);
  m.on_transport_error(error{make_error_code(errc::timeout), "no answer"}, t0 + 8s);
  EXPECT_EQ(m.coordinator(), -1);
  expect_request<protocol::find_coordinator_request>(m, t0 + 8100ms);
  m.on_transport_error(error{make_error_code(errc::connect), "refused"}, t0 + 9s);
  EXPECT_EQ(m.state(), member_state::stable);
  EXPECT_LE(m.next_deadline(), t0 + 10s);
  auto next = m.poll(t0 + 10s);  // session over: revoked, and the coordinator is still looked for
  ASSERT_TRUE(next);
  EXPECT_TRUE(std::holds_alternative<protocol::find_coordinator_request>(*next));
  EXPECT_EQ(m.state(), member_state::revoking);
  const auto ev = m.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(std::get<revoked_event>(ev[0]).lost);
  EXPECT_EQ(m.member_id(), "");
}

TEST_F(fixture, not_coordinator_on_heartbeat_keeps_the_partitions_and_finds_the_new_one) {
  to_stable();
  expect_request<protocol::heartbeat_request>(m, t0 + 3s);
  protocol::heartbeat_response r;
  r.error_code = code(error_code::not_coordinator);
  m.on_heartbeat(r, t0 + 3s);
  EXPECT_EQ(m.state(), member_state::stable);
  EXPECT_EQ(m.owned(), parts);
  expect_request<protocol::find_coordinator_request>(m, t0 + 3100ms);
  m.on_find_coordinator(coordinator_at(2), t0 + 3100ms);
  auto hb = expect_request<protocol::heartbeat_request>(m, t0 + 3100ms);
  EXPECT_EQ(hb.generation_id, 1);
  EXPECT_TRUE(m.take_events().empty());
}

TEST_F(fixture, fenced_instance_id_is_fatal) {
  auto c = config();
  c.instance_id = "worker-0";
  group_member g(c, t0);
  expect_request<protocol::find_coordinator_request>(g, t0);
  g.on_find_coordinator(coordinator_at(3), t0);
  auto join = expect_request<protocol::join_group_request>(g, t0);
  EXPECT_EQ(join.group_instance_id, std::optional<std::string>("worker-0"));
  protocol::join_group_response r;
  r.error_code = code(error_code::fenced_instance_id);
  g.on_join(r, t0);
  EXPECT_EQ(g.state(), member_state::dead);
  const auto msg = std::get<fatal_event>(g.take_events().at(0)).err.message;
  EXPECT_NE(msg.find("worker-0"), std::string::npos) << msg;
}

TEST_F(fixture, leave_sends_leave_group_for_a_dynamic_member) {
  to_stable();
  m.leave(t0 + 1s);
  auto req = expect_request<protocol::leave_group_request>(m, t0 + 1s);
  EXPECT_EQ(m.state(), member_state::leaving);
  ASSERT_EQ(req.members.size(), 1u);
  EXPECT_EQ(req.members[0].member_id, "m1");
  EXPECT_EQ(req.member_id, "m1");
  m.on_leave(protocol::leave_group_response{}, t0 + 1s);
  EXPECT_EQ(m.state(), member_state::dead);
  EXPECT_FALSE(m.poll(t0 + 1h));
}

TEST_F(fixture, a_static_member_leaves_silently) {
  auto c = config();
  c.instance_id = "worker-0";
  group_member g(c, t0);
  expect_request<protocol::find_coordinator_request>(g, t0);
  g.on_find_coordinator(coordinator_at(3), t0);
  expect_request<protocol::join_group_request>(g, t0);
  g.on_join(joined("s1", "s1", 1, {"s1"}), t0);
  expect_request<protocol::sync_group_request>(g, t0);
  g.on_sync(synced({}, 1), t0);
  g.leave(t0);
  EXPECT_FALSE(g.poll(t0));
  EXPECT_EQ(g.state(), member_state::dead);
}

TEST_F(fixture, leave_waits_for_a_pending_revoke) {
  to_stable();
  expect_request<protocol::heartbeat_request>(m, t0 + 3s);
  protocol::heartbeat_response r;
  r.error_code = code(error_code::rebalance_in_progress);
  m.on_heartbeat(r, t0 + 3s);
  m.leave(t0 + 3s);
  EXPECT_FALSE(m.poll(t0 + 3s));
  EXPECT_EQ(m.state(), member_state::revoking);
  m.ack_revoke(t0 + 4s);
  expect_request<protocol::leave_group_request>(m, t0 + 4s);
}

TEST_F(fixture, a_tls_failure_is_fatal) {
  expect_request<protocol::find_coordinator_request>(m, t0);
  m.on_transport_error(error{make_error_code(errc::tls), "certificate verify failed"}, t0);
  EXPECT_EQ(m.state(), member_state::dead);
  EXPECT_TRUE(std::get<fatal_event>(m.take_events().at(0)).err.is(errc::tls));
}

}  // namespace
}  // namespace kb::pipeline::workers
