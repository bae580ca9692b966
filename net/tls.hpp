// TLS client setup on OpenSSL 3 for broker connections: the shared ssl::context (trust store,
// client certificate and key, TLS 1.2 minimum) and the per-connection SNI and host/IP checks,
// plus the one error text for a failed handshake.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include "base/error.hpp"
#include "net/secret.hpp"

namespace kb::net {

/// The `ssl_*` keys of a cluster's `security:` block.
struct tls_options {
  std::optional<std::string> ca_location;           ///< PEM file or hashed directory; absent: system trust store
  std::optional<std::string> certificate_location;  ///< client certificate (chain) PEM, for mTLS
  std::optional<std::string> key_location;          ///< PEM key: PKCS#8 or PKCS#1, plain or encrypted
  std::optional<secret> key_password;               ///< passphrase of an encrypted key
  /// Verify that the broker certificate names the host (DNS SAN) or IP (IP SAN) we dialled.
  /// false turns only the name check off (the chain is still verified); callers warn.
  bool endpoint_identification = true;
};

/// Builds a client context: peer verification on, TLS 1.2 minimum (1.3 allowed), the CA
/// file/directory or else the system default paths, the client certificate and key.
/// Errors: errc::config when a file is missing or unreadable (naming the option and path);
/// errc::tls when a file holds no usable PEM, the key password is missing or wrong, or the key
/// does not match the certificate. Messages never contain the password.
/// Key files readable by group or others are accepted with a warning.
[[nodiscard]] result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const tls_options& opts);

/// Per connection, before the handshake: SNI for DNS names (never for IP literals, RFC 6066 §3)
/// and, when `endpoint_identification`, the expected DNS name (SSL_set1_host, no partial
/// wildcards) or IP address (X509_VERIFY_PARAM_set1_ip_asc).
[[nodiscard]] result<void> prepare_tls_stream(SSL* ssl, std::string_view host, bool endpoint_identification);

/// "SSL handshake failed: broker <broker>: <OpenSSL reason>[: <verify error>] — check
/// ssl_ca_location, certificate expiry and the broker hostname". `ssl` may be null; when set
/// and verification failed, its verify result is appended (e.g. "certificate verify failed:
/// unable to get local issuer certificate").
[[nodiscard]] std::string tls_failure_text(std::string_view broker, const boost::system::error_code& ec,
                                           const SSL* ssl);

/// True when `ec` comes from the TLS layer (OpenSSL errors and TLS stream truncation), so a
/// connection can report it as errc::tls. Alerts from a server that rejects our client
/// certificate arrive on the first read after a TLS 1.3 handshake, not during it.
[[nodiscard]] bool is_tls_error(const boost::system::error_code& ec) noexcept;

}  // namespace kb::net
