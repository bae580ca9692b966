#include "protocol/offset_fetch.hpp"

#include <type_traits>

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class T>
void request_topic(IO& io, T& t) {
  io(t.name);
  io.array(t.partition_indexes);
  io.no_tags();
}

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  if (v <= 7) {
    io(m.group_id);
    auto each = [&](auto& t) { request_topic(io, t); };
    if (v >= 2) {
      io.nullable_array(m.topics, each);
    } else if constexpr (std::is_const_v<M>) {
      io.array(m.topics ? *m.topics : std::vector<offset_fetch_request::topic>{}, each);
    } else {
      io.array(m.topics.emplace(), each);
    }
  } else {
    io.array(m.groups, [&](auto& g) {
      io(g.group_id);
      if (v >= 9) {  // KIP-848
        io(g.member_id);
        io(g.member_epoch);
      }
      io.nullable_array(g.topics, [&](auto& t) { request_topic(io, t); });
      io.no_tags();
    });
  }
  if (v >= 7) io(m.require_stable);  // KIP-447
  io.no_tags();
}

template <class IO, class T>
void response_topic(IO& io, T& t, std::int16_t v) {
  io(t.name);
  io.array(t.partitions, [&](auto& p) {
    io(p.partition_index);
    io(p.committed_offset);
    if (v >= 5) io(p.committed_leader_epoch);  // KIP-320
    io(p.metadata);
    io(p.error_code);
    io.no_tags();
  });
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 3) io(m.throttle_time_ms);
  if (v <= 7) {
    io.array(m.topics, [&](auto& t) { response_topic(io, t, v); });
    if (v >= 2) io(m.error_code);
  } else {
    io.array(m.groups, [&](auto& g) {
      io(g.group_id);
      io.array(g.topics, [&](auto& t) { response_topic(io, t, v); });
      io(g.error_code);
      io.no_tags();
    });
  }
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(offset_fetch_request, serde_request, "OffsetFetchRequest")
KB_PROTOCOL_CODEC(offset_fetch_response, serde_response, "OffsetFetchResponse")

}  // namespace kb::protocol
