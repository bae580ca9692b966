// The `security_protocol` of a cluster connection (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL):
// the one enum every layer uses (the cli maps its config names onto it).
#pragma once

#include <string_view>

#include "base/error.hpp"

namespace kb::net {

/// `security_protocol` of a cluster's `security:` block.
enum class security_protocol { plaintext, ssl, sasl_plaintext, sasl_ssl };

/// "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL" (case-insensitive); errc::config otherwise.
[[nodiscard]] result<security_protocol> parse_security_protocol(std::string_view text);
[[nodiscard]] std::string_view to_string(security_protocol p) noexcept;
[[nodiscard]] constexpr bool uses_tls(security_protocol p) noexcept {
  return p == security_protocol::ssl || p == security_protocol::sasl_ssl;
}
[[nodiscard]] constexpr bool uses_sasl(security_protocol p) noexcept {
  return p == security_protocol::sasl_plaintext || p == security_protocol::sasl_ssl;
}

}  // namespace kb::net
