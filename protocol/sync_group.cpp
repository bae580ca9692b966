#include "protocol/sync_group.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io(m.group_id);
  io(m.generation_id);
  io(m.member_id);
  if (v >= 3) io(m.group_instance_id);  // KIP-345
  if (v >= 5) {
    io(m.protocol_type);
    io(m.protocol_name);
  }
  io.array(m.assignments, [&](auto& a) {
    io(a.member_id);
    io(a.assignment);
    io.no_tags();
  });
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 1) io(m.throttle_time_ms);
  io(m.error_code);
  if (v >= 5) {
    io(m.protocol_type);
    io(m.protocol_name);
  }
  io(m.assignment);
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(sync_group_request, serde_request, "SyncGroupRequest")
KB_PROTOCOL_CODEC(sync_group_response, serde_response, "SyncGroupResponse")

}  // namespace kb::protocol
