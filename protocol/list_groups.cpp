#include "protocol/list_groups.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  if (v >= 4) io.array(m.states_filter);  // KIP-518
  if (v >= 5) io.array(m.types_filter);   // KIP-848
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 1) io(m.throttle_time_ms);
  io(m.error_code);
  io.array(m.groups, [&](auto& g) {
    io(g.group_id);
    io(g.protocol_type);
    if (v >= 4) io(g.group_state);
    if (v >= 5) io(g.group_type);
    io.no_tags();
  });
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(list_groups_request, serde_request, "ListGroupsRequest")
KB_PROTOCOL_CODEC(list_groups_response, serde_response, "ListGroupsResponse")

}  // namespace kb::protocol
