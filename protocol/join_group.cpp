#include "protocol/join_group.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io(m.group_id);
  io(m.session_timeout_ms);
  io(m.rebalance_timeout_ms);           // v1+ (our minimum is 2)
  io(m.member_id);
  if (v >= 5) io(m.group_instance_id);  // KIP-345
  io(m.protocol_type);
  io.array(m.protocols, [&](auto& p) {
    io(p.name);
    io(p.metadata);
    io.no_tags();
  });
  if (v >= 8) io(m.reason);  // KIP-800
  io.no_tags();
}

// ProtocolName is a plain string before v7 (never null there): encode "" for a null name.
template <class M>
void protocol_name_pre_v7(detail::encoder& io, M& m) {
  io(m.protocol_name.value_or(std::string()));
}
template <class M>
void protocol_name_pre_v7(detail::decoder& io, M& m) {
  std::string s;
  io(s);
  m.protocol_name = std::move(s);
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  io(m.throttle_time_ms);  // v2+
  io(m.error_code);
  io(m.generation_id);
  if (v >= 7) {
    io(m.protocol_type);
    io(m.protocol_name);
  } else {
    protocol_name_pre_v7(io, m);
  }
  io(m.leader);
  if (v >= 9) io(m.skip_assignment);  // KIP-814
  io(m.member_id);
  io.array(m.members, [&](auto& e) {
    io(e.member_id);
    if (v >= 5) io(e.group_instance_id);
    io(e.metadata);
    io.no_tags();
  });
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(join_group_request, serde_request, "JoinGroupRequest")
KB_PROTOCOL_CODEC(join_group_response, serde_response, "JoinGroupResponse")

}  // namespace kb::protocol
