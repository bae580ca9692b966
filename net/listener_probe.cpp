#include "net/listener_probe.hpp"

#include <algorithm>

#include <boost/asio/ssl/context.hpp>
#include <fmt/format.h>

#include "protocol/error_codes.hpp"
#include "protocol/sasl_handshake.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines; the pairing is Asio's and
// correct, so the false positive is silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::net {
namespace {

namespace asio = boost::asio;

std::string article_for(security_protocol p) { return p == security_protocol::ssl ? "an" : "a"; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

/// "a, b and c".
std::string join_and(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  return out;
}

/// What a client of protocol `ours` must add to speak `theirs`.
std::string what_to_set(security_protocol ours, security_protocol theirs, bool client_certificate = false) {
  std::string out = fmt::format("set security_protocol: {}", to_string(theirs));
  std::vector<std::string> extra;
  if (uses_sasl(theirs) && !uses_sasl(ours))
    extra.insert(extra.end(), {"sasl_mechanism", "sasl_username", "sasl_password"});
  if (uses_tls(theirs) && !uses_tls(ours)) extra.emplace_back("ssl_ca_location");
  if (client_certificate) extra.insert(extra.end(), {"ssl_certificate_location", "ssl_key_location"});
  if (!extra.empty()) out += " with " + join_and(extra);
  return out;
}

/// `ours` with TLS and SASL switched as a listener that speaks (or not) each would need.
security_protocol with(bool tls, bool sasl) {
  if (tls) return sasl ? security_protocol::sasl_ssl : security_protocol::ssl;
  return sasl ? security_protocol::sasl_plaintext : security_protocol::plaintext;
}

}  // namespace

std::string wrong_listener_hint(security_protocol ours, const listener_kind& theirs) {
  std::string out = fmt::format("the port is {} {} listener", article_for(theirs.protocol), to_string(theirs.protocol));
  if (!theirs.mechanisms.empty()) out += " (SASL mechanisms: " + join(theirs.mechanisms) + ")";
  if (theirs.client_certificate_required) out += " that requires a client certificate (mTLS)";
  out += "; " + what_to_set(ours, theirs.protocol, theirs.client_certificate_required);
  out += fmt::format(", or point bootstrap_servers at the broker's {} listener (this client uses {})",
                     to_string(ours), to_string(ours));
  return out;
}

std::string probable_listener_hint(security_protocol ours, listener_symptom symptom) {
  switch (symptom) {
    case listener_symptom::tls_record_on_plaintext: {
      const auto theirs = with(true, uses_sasl(ours));
      return fmt::format("the port is probably a TLS listener (SSL, SASL_SSL or mTLS): it answered our plaintext "
                         "request with a TLS record; {}, or use the broker's {} listener",
                         what_to_set(ours, theirs), to_string(ours));
    }
    case listener_symptom::closed_on_client_hello: {
      const auto theirs = with(false, uses_sasl(ours));
      return fmt::format("the port is probably a plaintext listener (PLAINTEXT or SASL_PLAINTEXT): it closed the "
                         "connection on our TLS ClientHello; {}, or use the broker's {} listener",
                         what_to_set(ours, theirs), to_string(ours));
    }
    case listener_symptom::closed_before_sasl: {
      const auto theirs = with(uses_tls(ours), true);
      return fmt::format("the port is probably a {} listener (Kafka closes a connection whose first request after "
                         "ApiVersions is not SaslHandshake there), unless the broker just restarted; {}, or use the "
                         "broker's {} listener",
                         to_string(theirs), what_to_set(ours, theirs), to_string(ours));
    }
    case listener_symptom::sasl_not_enabled:
      return wrong_listener_hint(ours, listener_kind{with(uses_tls(ours), false), {}, false});
  }
  return {};
}

asio::awaitable<std::optional<listener_kind>> async_identify_listener(asio::any_io_executor executor,
                                                                      std::string host, std::uint16_t port, bool tls,
                                                                      const connection_options& base) {
  connection_options opts;
  opts.protocol = tls ? security_protocol::ssl : security_protocol::plaintext;
  opts.client_id = base.client_id;
  opts.max_versions = base.max_versions;
  opts.connect_timeout = std::min(base.connect_timeout, std::chrono::milliseconds(5'000));
  opts.request_timeout = std::min(base.request_timeout, std::chrono::milliseconds(5'000));
  opts.identify_listener_on_failure = false;  // a probe never probes
  if (tls) {
    // Classifying only: the probe sends no credentials, so it may trust any certificate.
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_verify_mode(asio::ssl::verify_none);
    opts.tls_context = std::move(ctx);
  }
  auto probe = connection::create(executor, std::move(host), port, std::move(opts));
  auto connected = co_await probe->async_connect();
  if (!connected) {
    // A listener that insists on a client certificate answers with an alert: TLS 1.3 "certificate
    // required", TLS 1.2 "bad certificate" or "handshake failure".
    const auto& why = connected.error().message;
    if (tls && connected.error().is(errc::tls) &&
        (why.find("certificate required") != std::string::npos || why.find("bad certificate") != std::string::npos ||
         why.find("handshake failure") != std::string::npos))
      co_return listener_kind{security_protocol::ssl, {}, true};
    co_return std::nullopt;
  }
  protocol::sasl_handshake_request hs;
  hs.mechanism = "PLAIN";
  auto resp = co_await probe->async_request(hs);
  probe->close();
  if (!resp) co_return std::nullopt;
  const auto code = static_cast<protocol::error_code>(resp->error_code);
  if (code == protocol::error_code::illegal_sasl_state) co_return listener_kind{with(tls, false), {}, false};
  if (code == protocol::error_code::none || code == protocol::error_code::unsupported_sasl_mechanism)
    co_return listener_kind{with(tls, true), resp->mechanisms, false};
  co_return std::nullopt;
}

}  // namespace kb::net
