// Wrong-listener diagnosis: after a connection failed in a way typical of a security_protocol that
// does not match the port, one credential-free probe finds out what the port speaks, and the hint
// names the listener type and the security_protocol to set.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "net/connection.hpp"

namespace kb::net {

/// What a broker port speaks, as far as a probe without credentials can tell.
struct listener_kind {
  security_protocol protocol = security_protocol::plaintext;
  std::vector<std::string> mechanisms;    ///< SASL mechanisms the listener enables (SASL listeners)
  bool client_certificate_required = false;  ///< a TLS listener that rejected us without a certificate
};

/// The symptom that made a connection suspect the port.
enum class listener_symptom {
  tls_record_on_plaintext,  ///< our plaintext request was answered with a TLS record (0x15/0x16 0x03 ..)
  closed_on_client_hello,   ///< our TLS ClientHello was answered by closing the connection
  closed_before_sasl,       ///< the first request after ApiVersions was answered by closing the connection
  sasl_not_enabled,         ///< SaslHandshake answered ILLEGAL_SASL_STATE
};

/// "the port is a SASL_SSL listener (SASL mechanisms: PLAIN, SCRAM-SHA-512); set security_protocol:
/// SASL_SSL (this client uses SSL)", plus what else that listener needs.
[[nodiscard]] std::string wrong_listener_hint(security_protocol ours, const listener_kind& theirs);

/// The same from the symptom alone, when no probe answered: "the port is probably a … listener".
[[nodiscard]] std::string probable_listener_hint(security_protocol ours, listener_symptom symptom);

/// Connects to host:port once over plaintext (or TLS, trusting any certificate: nothing secret is
/// sent), sends ApiVersions and SaslHandshake(PLAIN) and reports what the port speaks; nullopt
/// when no Kafka listener of that kind answered. Bounded by `base.connect_timeout` and
/// `base.request_timeout`; never probes recursively. `base` must outlive the coroutine (it is a
/// reference: pass a member or a named object, never a temporary to co_spawn).
[[nodiscard]] boost::asio::awaitable<std::optional<listener_kind>> async_identify_listener(
    boost::asio::any_io_executor executor, std::string host, std::uint16_t port, bool tls,
    const connection_options& base);

}  // namespace kb::net
