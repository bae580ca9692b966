// SaslAuthenticate (key 36): carries one SASL token each way (KIP-152); v1+ returns the
// session lifetime after which the broker closes the connection unless re-authenticated
// (KIP-368). Tokens may hold secrets: never log `auth_bytes`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct sasl_authenticate_response {
  static constexpr api_key key = api_key::sasl_authenticate;

  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  byte_vector auth_bytes;
  std::int64_t session_lifetime_ms = 0;  // v1+ (KIP-368); 0 = no expiry

  void encode(writer& w, std::int16_t version) const;
  static result<sasl_authenticate_response> decode(reader& r, std::int16_t version);
};

struct sasl_authenticate_request {
  static constexpr api_key key = api_key::sasl_authenticate;
  using response_type = sasl_authenticate_response;

  byte_vector auth_bytes;

  void encode(writer& w, std::int16_t version) const;
  static result<sasl_authenticate_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
