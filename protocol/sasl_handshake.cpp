#include "protocol/sasl_handshake.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t /*v*/) {
  io(m.mechanism);
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t /*v*/) {
  io(m.error_code);
  io.array(m.mechanisms);
}

}  // namespace

KB_PROTOCOL_CODEC(sasl_handshake_request, serde_request, "SaslHandshakeRequest")
KB_PROTOCOL_CODEC(sasl_handshake_response, serde_response, "SaslHandshakeResponse")

}  // namespace kb::protocol
