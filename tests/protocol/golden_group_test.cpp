// Golden bytes of the classic group membership APIs (JoinGroup, SyncGroup, Heartbeat, LeaveGroup)
// from Apache Kafka's own serializers, every version in supported_apis (see golden_test.cpp).
#include "tests/protocol/golden_common.hpp"

#include <gtest/gtest.h>

#include "protocol/heartbeat.hpp"
#include "protocol/join_group.hpp"
#include "protocol/leave_group.hpp"
#include "protocol/sync_group.hpp"

namespace kb::protocol {
namespace {

using namespace golden_fixture;

using J = json::object;

TEST(golden, join_group) {
  check_api<join_group_request, join_group_response>(
      [](const join_group_request& m, const J& j) {
        same(j, "groupId", m.group_id);
        same(j, "sessionTimeoutMs", m.session_timeout_ms);
        same(j, "rebalanceTimeoutMs", m.rebalance_timeout_ms);
        same(j, "memberId", m.member_id);
        same(j, "groupInstanceId", m.group_instance_id);
        same(j, "protocolType", m.protocol_type);
        each(j, "protocols", m.protocols, [](const J& p, const join_group_request::protocol& o) {
          same(p, "name", o.name);
          same(p, "metadata", o.metadata);
        });
        same(j, "reason", m.reason);
      },
      [](const join_group_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
        same(j, "generationId", m.generation_id);
        same(j, "protocolType", m.protocol_type);
        same(j, "protocolName", m.protocol_name);
        same(j, "leader", m.leader);
        same(j, "skipAssignment", m.skip_assignment);
        same(j, "memberId", m.member_id);
        each(j, "members", m.members, [](const J& e, const join_group_response::member& o) {
          same(e, "memberId", o.member_id);
          same(e, "groupInstanceId", o.group_instance_id);
          same(e, "metadata", o.metadata);
        });
      });
}

TEST(golden, sync_group) {
  check_api<sync_group_request, sync_group_response>(
      [](const sync_group_request& m, const J& j) {
        same(j, "groupId", m.group_id);
        same(j, "generationId", m.generation_id);
        same(j, "memberId", m.member_id);
        same(j, "groupInstanceId", m.group_instance_id);
        same(j, "protocolType", m.protocol_type);
        same(j, "protocolName", m.protocol_name);
        each(j, "assignments", m.assignments,
             [](const J& a, const sync_group_request::member_assignment& o) {
               same(a, "memberId", o.member_id);
               same(a, "assignment", o.assignment);
             });
      },
      [](const sync_group_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
        same(j, "protocolType", m.protocol_type);
        same(j, "protocolName", m.protocol_name);
        same(j, "assignment", m.assignment);
      });
}

TEST(golden, heartbeat) {
  check_api<heartbeat_request, heartbeat_response>(
      [](const heartbeat_request& m, const J& j) {
        same(j, "groupId", m.group_id);
        same(j, "generationId", m.generation_id);
        same(j, "memberId", m.member_id);
        same(j, "groupInstanceId", m.group_instance_id);
      },
      [](const heartbeat_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
      });
}

TEST(golden, leave_group) {
  check_api<leave_group_request, leave_group_response>(
      [](const leave_group_request& m, const J& j) {
        same(j, "groupId", m.group_id);
        same(j, "memberId", m.member_id);
        each(j, "members", m.members, [](const J& e, const leave_group_request::member& o) {
          same(e, "memberId", o.member_id);
          same(e, "groupInstanceId", o.group_instance_id);
          same(e, "reason", o.reason);
        });
      },
      [](const leave_group_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
        each(j, "members", m.members, [](const J& e, const leave_group_response::member& o) {
          same(e, "memberId", o.member_id);
          same(e, "groupInstanceId", o.group_instance_id);
          same(e, "errorCode", o.error_code);
        });
      });
}

}  // namespace
}  // namespace kb::protocol
