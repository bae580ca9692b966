#include "protocol/offset_commit.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io(m.group_id);
  io(m.generation_id_or_member_epoch);  // v1+
  io(m.member_id);                      // v1+
  if (v >= 7) io(m.group_instance_id);  // KIP-345
  if (v <= 4) io(m.retention_time_ms);  // removed in v5 (KIP-211)
  io.array(m.topics, [&](auto& t) {
    io(t.name);
    io.array(t.partitions, [&](auto& p) {
      io(p.partition_index);
      io(p.committed_offset);
      if (v >= 6) io(p.committed_leader_epoch);  // KIP-320
      io(p.committed_metadata);
      io.no_tags();
    });
    io.no_tags();
  });
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 3) io(m.throttle_time_ms);
  io.array(m.topics, [&](auto& t) {
    io(t.name);
    io.array(t.partitions, [&](auto& p) {
      io(p.partition_index);
      io(p.error_code);
      io.no_tags();
    });
    io.no_tags();
  });
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(offset_commit_request, serde_request, "OffsetCommitRequest")
KB_PROTOCOL_CODEC(offset_commit_response, serde_response, "OffsetCommitResponse")

}  // namespace kb::protocol
