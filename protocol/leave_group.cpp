#include "protocol/leave_group.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io(m.group_id);
  if (v <= 2) {
    io(m.member_id);
  } else {
    io.array(m.members, [&](auto& e) {
      io(e.member_id);
      io(e.group_instance_id);
      if (v >= 5) io(e.reason);  // KIP-800
      io.no_tags();
    });
  }
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 1) io(m.throttle_time_ms);
  io(m.error_code);
  if (v >= 3) {
    io.array(m.members, [&](auto& e) {
      io(e.member_id);
      io(e.group_instance_id);
      io(e.error_code);
      io.no_tags();
    });
  }
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(leave_group_request, serde_request, "LeaveGroupRequest")
KB_PROTOCOL_CODEC(leave_group_response, serde_response, "LeaveGroupResponse")

}  // namespace kb::protocol
