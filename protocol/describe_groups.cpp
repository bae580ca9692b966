#include "protocol/describe_groups.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io.array(m.groups);
  if (v >= 3) io(m.include_authorized_operations);  // KIP-430
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 1) io(m.throttle_time_ms);
  io.array(m.groups, [&](auto& g) {
    io(g.error_code);
    io(g.group_id);
    io(g.group_state);
    io(g.protocol_type);
    io(g.protocol_data);
    io.array(g.members, [&](auto& mb) {
      io(mb.member_id);
      if (v >= 4) io(mb.group_instance_id);  // KIP-345
      io(mb.client_id);
      io(mb.client_host);
      io(mb.member_metadata);
      io(mb.member_assignment);
      io.no_tags();
    });
    if (v >= 3) io(g.authorized_operations);  // KIP-430
    io.no_tags();
  });
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(describe_groups_request, serde_request, "DescribeGroupsRequest")
KB_PROTOCOL_CODEC(describe_groups_response, serde_response, "DescribeGroupsResponse")

}  // namespace kb::protocol
