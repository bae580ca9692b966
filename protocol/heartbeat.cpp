#include "protocol/heartbeat.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io(m.group_id);
  io(m.generation_id);
  io(m.member_id);
  if (v >= 3) io(m.group_instance_id);  // KIP-345
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 1) io(m.throttle_time_ms);
  io(m.error_code);
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(heartbeat_request, serde_request, "HeartbeatRequest")
KB_PROTOCOL_CODEC(heartbeat_response, serde_response, "HeartbeatResponse")

}  // namespace kb::protocol
