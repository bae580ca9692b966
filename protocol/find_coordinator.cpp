#include "protocol/find_coordinator.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  if (v <= 3) io(m.key_value);
  if (v >= 1) io(m.key_type);
  if (v >= 4) io.array(m.coordinator_keys);  // KIP-699
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 1) io(m.throttle_time_ms);
  if (v <= 3) {
    io(m.error_code);
    if (v >= 1) io(m.error_message);
    io(m.node_id);
    io(m.host);
    io(m.port);
  } else {
    io.array(m.coordinators, [&](auto& c) {
      io(c.key);
      io(c.node_id);
      io(c.host);
      io(c.port);
      io(c.error_code);
      io(c.error_message);
      io.no_tags();
    });
  }
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(find_coordinator_request, serde_request, "FindCoordinatorRequest")
KB_PROTOCOL_CODEC(find_coordinator_response, serde_response, "FindCoordinatorResponse")

}  // namespace kb::protocol
