// SaslHandshake (key 17): names the SASL mechanism; v1 means the SASL tokens follow in
// SaslAuthenticate requests (KIP-152) instead of raw frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct sasl_handshake_response {
  static constexpr api_key key = api_key::sasl_handshake;

  std::int16_t error_code = 0;
  std::vector<std::string> mechanisms;  ///< what the broker enables (for the error message)

  void encode(writer& w, std::int16_t version) const;
  static result<sasl_handshake_response> decode(reader& r, std::int16_t version);
};

struct sasl_handshake_request {
  static constexpr api_key key = api_key::sasl_handshake;
  using response_type = sasl_handshake_response;

  std::string mechanism;  ///< "PLAIN", "SCRAM-SHA-512", "GSSAPI", …

  void encode(writer& w, std::int16_t version) const;
  static result<sasl_handshake_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
