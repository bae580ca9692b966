#include "protocol/init_producer_id.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io(m.transactional_id);
  io(m.transaction_timeout_ms);
  if (v >= 3) {  // KIP-360
    io(m.producer_id);
    io(m.producer_epoch);
  }
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t /*v*/) {
  io(m.throttle_time_ms);
  io(m.error_code);
  io(m.producer_id);
  io(m.producer_epoch);
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(init_producer_id_request, serde_request, "InitProducerIdRequest")
KB_PROTOCOL_CODEC(init_producer_id_response, serde_response, "InitProducerIdResponse")

}  // namespace kb::protocol
