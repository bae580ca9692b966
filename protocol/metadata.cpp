#include "protocol/metadata.hpp"

#include <type_traits>

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

// Before v10 the schema's topic name is a non-null STRING; we send "" for a missing name.
template <class IO, class Name>
void topic_name(IO& io, Name& name, bool nullable) {
  if (nullable) {
    io(name);
    return;
  }
  if constexpr (std::is_const_v<Name>) {
    io(name.has_value() ? *name : std::string());
  } else {
    name.emplace();
    io(*name);
  }
}

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io.nullable_array(m.topics, [&](auto& t) {
    if (v >= 10) io(t.topic_id);  // KIP-516
    topic_name(io, t.name, v >= 10);
    io.no_tags();
  });
  if (v >= 4) io(m.allow_auto_topic_creation);
  if (v >= 8 && v <= 10) io(m.include_cluster_authorized_operations);  // KIP-430, KIP-700
  if (v >= 8) io(m.include_topic_authorized_operations);
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  if (v >= 3) io(m.throttle_time_ms);
  io.array(m.brokers, [&](auto& b) {
    io(b.node_id);
    io(b.host);
    io(b.port);
    if (v >= 1) io(b.rack);
    io.no_tags();
  });
  if (v >= 2) io(m.cluster_id);
  if (v >= 1) io(m.controller_id);
  io.array(m.topics, [&](auto& t) {
    io(t.error_code);
    topic_name(io, t.name, v >= 12);
    if (v >= 10) io(t.topic_id);  // KIP-516
    if (v >= 1) io(t.is_internal);
    io.array(t.partitions, [&](auto& p) {
      io(p.error_code);
      io(p.partition_index);
      io(p.leader_id);
      if (v >= 7) io(p.leader_epoch);  // KIP-320
      io.array(p.replica_nodes);
      io.array(p.isr_nodes);
      if (v >= 5) io.array(p.offline_replicas);
      io.no_tags();
    });
    if (v >= 8) io(t.topic_authorized_operations);  // KIP-430
    io.no_tags();
  });
  if (v >= 8 && v <= 10) io(m.cluster_authorized_operations);
  if (v >= 13) io(m.error_code);  // KIP-1102
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(metadata_request, serde_request, "MetadataRequest")
KB_PROTOCOL_CODEC(metadata_response, serde_response, "MetadataResponse")

}  // namespace kb::protocol
