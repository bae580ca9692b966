#include "protocol/produce.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t /*v*/) {
  io(m.transactional_id);  // v3+
  io(m.acks);
  io(m.timeout_ms);
  io.array(m.topic_data, [&](auto& t) {
    io(t.name);
    io.array(t.partition_data, [&](auto& p) {
      io(p.index);
      io(p.records);
      io.no_tags();
    });
    io.no_tags();
  });
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  io.array(m.responses, [&](auto& t) {
    io(t.name);
    io.array(t.partition_responses, [&](auto& p) {
      io(p.index);
      io(p.error_code);
      io(p.base_offset);
      io(p.log_append_time_ms);  // v2+
      if (v >= 5) io(p.log_start_offset);  // KIP-107
      if (v >= 8) {                        // KIP-467
        io.array(p.record_errors, [&](auto& e) {
          io(e.batch_index);
          io(e.batch_index_error_message);
          io.no_tags();
        });
        io(p.error_message);
      }
      io.tags([&](auto& tag) {
        if (v >= 10) {
          tag(0, p.current_leader, [](auto& sub, auto& l) {  // KIP-951
            sub(l.leader_id);
            sub(l.leader_epoch);
            sub.no_tags();
          });
        }
      });
    });
    io.no_tags();
  });
  io(m.throttle_time_ms);
  io.tags([&](auto& tag) {
    if (v >= 10) {
      tag(0, m.node_endpoints, [](auto& sub, auto& n) {  // KIP-951
        sub(n.node_id);
        sub(n.host);
        sub(n.port);
        sub(n.rack);
        sub.no_tags();
      });
    }
  });
}

}  // namespace

std::size_t produce_request::records_size() const noexcept {
  std::size_t n = 0;
  for (const auto& t : topic_data)
    for (const auto& p : t.partition_data)
      if (p.records) n += p.records->size();
  return n;
}

KB_PROTOCOL_CODEC(produce_request, serde_request, "ProduceRequest")
KB_PROTOCOL_CODEC(produce_response, serde_response, "ProduceResponse")

}  // namespace kb::protocol
