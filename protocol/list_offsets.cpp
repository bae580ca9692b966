#include "protocol/list_offsets.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io(m.replica_id);
  if (v >= 2) io(m.isolation_level);  // KIP-98
  io.array(m.topics, [&](auto& t) {
    io(t.name);
    io.array(t.partitions, [&](auto& p) {
      io(p.partition_index);
      if (v >= 4) io(p.current_leader_epoch);  // KIP-320
      io(p.timestamp);
      io.no_tags();
    });
    io.no_tags();
  });
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 2) io(m.throttle_time_ms);
  io.array(m.topics, [&](auto& t) {
    io(t.name);
    io.array(t.partitions, [&](auto& p) {
      io(p.partition_index);
      io(p.error_code);
      io(p.timestamp);  // v1+
      io(p.offset);     // v1+
      if (v >= 4) io(p.leader_epoch);
      io.no_tags();
    });
    io.no_tags();
  });
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(list_offsets_request, serde_request, "ListOffsetsRequest")
KB_PROTOCOL_CODEC(list_offsets_response, serde_response, "ListOffsetsResponse")

}  // namespace kb::protocol
