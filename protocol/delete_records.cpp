#include "protocol/delete_records.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t /*v*/) {
  io.array(m.topics, [&](auto& t) {
    io(t.name);
    io.array(t.partitions, [&](auto& p) {
      io(p.partition_index);
      io(p.offset);
      io.no_tags();
    });
    io.no_tags();
  });
  io(m.timeout_ms);
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t /*v*/) {
  io(m.throttle_time_ms);
  io.array(m.topics, [&](auto& t) {
    io(t.name);
    io.array(t.partitions, [&](auto& p) {
      io(p.partition_index);
      io(p.low_watermark);
      io(p.error_code);
      io.no_tags();
    });
    io.no_tags();
  });
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(delete_records_request, serde_request, "DeleteRecordsRequest")
KB_PROTOCOL_CODEC(delete_records_response, serde_response, "DeleteRecordsResponse")

}  // namespace kb::protocol
