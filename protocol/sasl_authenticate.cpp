#include "protocol/sasl_authenticate.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t /*v*/) {
  io(m.auth_bytes);
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  io(m.error_code);
  io(m.error_message);
  io(m.auth_bytes);
  if (v >= 1) io(m.session_lifetime_ms);  // KIP-368
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(sasl_authenticate_request, serde_request, "SaslAuthenticateRequest")
KB_PROTOCOL_CODEC(sasl_authenticate_response, serde_response, "SaslAuthenticateResponse")

}  // namespace kb::protocol
