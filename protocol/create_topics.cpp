#include "protocol/create_topics.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t /*v*/) {
  io.array(m.topics, [&](auto& t) {
    io(t.name);
    io(t.num_partitions);
    io(t.replication_factor);
    io.array(t.assignments, [&](auto& a) {
      io(a.partition_index);
      io.array(a.broker_ids);
      io.no_tags();
    });
    io.array(t.configs, [&](auto& c) {
      io(c.name);
      io(c.value);
      io.no_tags();
    });
    io.no_tags();
  });
  io(m.timeout_ms);
  io(m.validate_only);  // v1+
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  io(m.throttle_time_ms);  // v2+
  io.array(m.topics, [&](auto& t) {
    io(t.name);
    if (v >= 7) io(t.topic_id);  // KIP-516
    io(t.error_code);
    io(t.error_message);  // v1+
    if (v >= 5) {         // KIP-525
      io(t.num_partitions);
      io(t.replication_factor);
      io.nullable_array(t.configs, [&](auto& c) {
        io(c.name);
        io(c.value);
        io(c.read_only);
        io(c.config_source);
        io(c.is_sensitive);
        io.no_tags();
      });
    }
    io.tags([&](auto& tag) { tag(0, t.topic_config_error_code); });
  });
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(create_topics_request, serde_request, "CreateTopicsRequest")
KB_PROTOCOL_CODEC(create_topics_response, serde_response, "CreateTopicsResponse")

}  // namespace kb::protocol
