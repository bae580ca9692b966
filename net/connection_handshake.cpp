// Opening a broker connection: TCP connect, TLS handshake, ApiVersions negotiation, SASL
// authentication and re-authentication (KIP-368), and the gate that holds requests while the
// session is renewed or the broker throttles (framing and I/O are in connection.cpp).
#include "net/connection.hpp"

#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "net/listener_probe.hpp"
#include "protocol/api_versions.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/sasl_authenticate.hpp"
#include "protocol/sasl_handshake.hpp"

#ifndef KB_VERSION
#define KB_VERSION "0.0.0"
#endif

namespace kb::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;

std::int64_t ms_count(std::chrono::milliseconds ms) { return static_cast<std::int64_t>(ms.count()); }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

asio::awaitable<result<void>> connection::async_connect() {
  auto self = shared_from_this();
  if (state_ != connection_state::disconnected || closed_)
    co_return fail(errc::internal, "async_connect called on a used connection to broker " + broker_);
  auto outcome = co_await async_connect_steps();
  if (!outcome) {
    if (auto explained = co_await async_explain_wrong_listener()) {
      failure_ = *explained;
      outcome = fail(std::move(*explained));
    }
    fail_all(outcome.error());
  }
  co_return outcome;
}

asio::awaitable<result<void>> connection::async_connect_steps() {
  const auto deadline = clock::now() + opts_.connect_timeout;
  state_ = connection_state::connecting;
  if (auto opened = co_await async_open_socket(deadline); !opened) co_return opened;
  if (uses_tls(opts_.protocol)) {
    state_ = connection_state::tls_handshake;
    if (auto shaken = co_await async_tls_handshake(deadline); !shaken) co_return shaken;
  }
  asio::co_spawn(executor_, shared_from_this()->async_read_loop(), asio::detached);
  state_ = connection_state::api_versions;
  if (auto negotiated = co_await async_negotiate_versions(); !negotiated) co_return negotiated;
  if (uses_sasl(opts_.protocol)) {
    if (auto authenticated = co_await async_authenticate(); !authenticated) co_return authenticated;
  }
  state_ = connection_state::ready;
  log::debug("connected to broker {} ({})", broker_, to_string(opts_.protocol));
  co_return result<void>{};
}

asio::awaitable<result<void>> connection::async_open_socket(clock::time_point deadline) {
  tcp::resolver resolver(executor_);
  auto [rec, endpoints] = co_await resolver.async_resolve(host_, std::to_string(port_), use_tuple);
  if (rec)
    co_return fail(errc::connect, fmt::format("cannot resolve broker host '{}': {}; check bootstrap_servers and DNS",
                                              host_, rec.message()));
  asio::steady_timer timer(executor_);
  timer.expires_at(deadline);
  auto outcome = co_await (asio::async_connect(socket_, endpoints, use_tuple) || timer.async_wait(use_tuple));
  if (outcome.index() == 1)
    co_return fail(errc::connect,
                   fmt::format("cannot connect to broker {}: timed out after {} ms; check bootstrap_servers, "
                               "that the broker is running and that no firewall drops the traffic",
                               broker_, ms_count(opts_.connect_timeout)));
  const auto& cec = std::get<0>(std::get<0>(outcome));
  if (cec)
    co_return fail(errc::connect,
                   fmt::format("cannot connect to broker {}: {}; check bootstrap_servers, that the broker is "
                               "running and that the port is the {} listener",
                               broker_, cec.message(), to_string(opts_.protocol)));
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  co_return result<void>{};
}

asio::awaitable<result<void>> connection::async_tls_handshake(clock::time_point deadline) {
  tls_context_ = opts_.tls_context;
  if (!tls_context_) {
    auto ctx = make_tls_context(opts_.tls);
    if (!ctx) co_return fail(std::move(ctx.error()));
    tls_context_ = std::move(*ctx);
  }
  tls_stream_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *tls_context_);
  if (auto prepared = prepare_tls_stream(tls_stream_->native_handle(), host_, opts_.tls.endpoint_identification);
      !prepared)
    co_return fail(std::move(prepared.error()));
  // ssl_endpoint_identification: false is warned about once by the caller, not per connection.
  asio::steady_timer timer(executor_);
  timer.expires_at(deadline);
  auto outcome =
      co_await (tls_stream_->async_handshake(asio::ssl::stream_base::client, use_tuple) || timer.async_wait(use_tuple));
  if (outcome.index() == 1)
    co_return fail(errc::tls, fmt::format("SSL handshake failed: broker {}: no answer within {} ms (is this a TLS "
                                          "listener?) \u2014 check security_protocol and the broker port",
                                          broker_, ms_count(opts_.connect_timeout)));
  const auto& hec = std::get<0>(std::get<0>(outcome));
  if (hec) {
    // A plaintext Kafka listener reads our ClientHello as a ~370 MB request size and closes.
    if (hec == asio::ssl::error::stream_truncated || hec == asio::error::eof)
      wrong_listener_symptom_ = listener_symptom::closed_on_client_hello;
    co_return fail(errc::tls, tls_failure_text(broker_, hec, tls_stream_->native_handle()));
  }
  co_return result<void>{};
}

asio::awaitable<result<void>> connection::async_negotiate_versions() {
  const auto* ours = protocol::find_support(protocol::api_key::api_versions);
  std::int16_t version = ours->max_version;
  if (auto cap = opts_.max_versions.find(protocol::api_key::api_versions); cap != opts_.max_versions.end())
    version = std::clamp(cap->second, ours->min_version, ours->max_version);
  protocol::api_versions_request req;
  req.client_software_name = "kafka-backup";
  req.client_software_version = KB_VERSION;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::int32_t correlation_id = next_correlation_id();
    auto frame = protocol::encode_request(req, version, correlation_id, opts_.client_id);
    if (!frame) co_return fail(std::move(frame.error()));
    outgoing out;
    out.frame = std::move(*frame);
    auto body = co_await async_exchange(std::move(out), correlation_id, "ApiVersions", opts_.request_timeout, true);
    if (!body) co_return fail(std::move(body.error()));
    auto resp = protocol::decode_api_versions_response(std::move(*body), version);
    if (!resp)
      co_return fail(errc::protocol, fmt::format("broker {} sent an ApiVersions response this client cannot "
                                                 "decode: {}; is this a Kafka broker?",
                                                 broker_, resp.error().message));
    const auto code = static_cast<protocol::error_code>(resp->error_code);
    if (code == protocol::error_code::unsupported_version && attempt == 0) {
      // KIP-511: the broker lists its ApiVersions range; retry at the highest common version.
      std::optional<std::int16_t> theirs;
      for (const auto& range : resp->api_keys)
        if (range.api_key == static_cast<std::int16_t>(protocol::api_key::api_versions)) theirs = range.max_version;
      version = std::min<std::int16_t>(theirs.value_or(0), ours->max_version);
      continue;
    }
    if (code != protocol::error_code::none)
      co_return fail(errc::broker, fmt::format("broker {} rejected ApiVersions v{}: {}", broker_, version,
                                               protocol::name(code)));
    note_throttle(resp->throttle_time_ms);
    auto table = protocol::negotiate(resp->api_keys);
    if (!table) co_return fail(table.error().code, "broker " + broker_ + ": " + table.error().message);
    versions_ = *table;
    for (const auto& [key, cap] : opts_.max_versions) versions_.cap(key, cap);
    co_return result<void>{};
  }
  co_return fail(errc::unsupported, "broker " + broker_ + " rejected every ApiVersions version we tried");
}

error connection::sasl_error(std::string_view why) const {
  return error{make_error_code(errc::sasl),
               fmt::format("SASL authentication failed: mechanism {}, user '{}', broker {}: {}", opts_.sasl.mechanism,
                           opts_.sasl.username, broker_, why)};
}

asio::awaitable<result<void>> connection::async_authenticate() {
  const bool initial = state_ != connection_state::ready;
  sasl_credentials creds = opts_.sasl;
  creds.host = host_;  // GSSAPI names the broker's service principal after the host dialled
  auto mech = make_sasl_mechanism(creds);
  if (!mech) co_return fail(mech.error().code, sasl_error(mech.error().message).message);
  if (initial) state_ = connection_state::sasl_handshake;
  const auto handshake_version = versions_.get(protocol::api_key::sasl_handshake);
  if (!handshake_version || *handshake_version < 1)
    co_return fail(sasl_error("the broker does not support SaslHandshake v1 (KIP-152); use Apache Kafka 1.0 or newer"));
  protocol::sasl_handshake_request hs;
  hs.mechanism = opts_.sasl.mechanism;
  auto hs_resp = co_await async_call(hs, *handshake_version, opts_.request_timeout);
  if (!hs_resp) {
    if (hs_resp.error().is(errc::connect))
      co_return fail(sasl_error("the broker closed the connection during SaslHandshake; check that security_protocol "
                                "matches the listener"));
    co_return fail(std::move(hs_resp.error()));
  }
  const auto hs_code = static_cast<protocol::error_code>(hs_resp->error_code);
  if (hs_code == protocol::error_code::unsupported_sasl_mechanism)
    co_return fail(sasl_error(fmt::format("the listener does not enable {} (it offers: {}); set sasl_mechanism to "
                                          "one of them",
                                          opts_.sasl.mechanism, join(hs_resp->mechanisms))));
  if (hs_code == protocol::error_code::illegal_sasl_state && initial)
    // Kafka answers the first SaslHandshake so only on a listener without SASL.
    co_return fail(sasl_error(fmt::format("SaslHandshake returned ILLEGAL_SASL_STATE: {}",
                                          probable_listener_hint(opts_.protocol, listener_symptom::sasl_not_enabled))));
  if (hs_code != protocol::error_code::none)
    co_return fail(sasl_error(fmt::format("SaslHandshake returned {}", protocol::name(hs_code))));

  if (initial) state_ = connection_state::sasl_authenticate;
  if (initial && !uses_tls(opts_.protocol) && authentications_ == 0) {
    // Once per process and user, not once per connection; before the
    // first credential leaves (a listener without SASL never gets that far).
    const std::string once_key = "sasl_plaintext/" + opts_.sasl.mechanism + "/" + opts_.sasl.username;
    if (opts_.sasl.mechanism == "PLAIN")
      log::warn_once(once_key,
                     "SASL PLAIN over SASL_PLAINTEXT sends the password of user '{}' unencrypted to the brokers "
                     "(first: {}); use SASL_SSL",
                     opts_.sasl.username, broker_);
    else if (opts_.sasl.mechanism == "GSSAPI")
      log::warn_once(once_key,
                     "GSSAPI over SASL_PLAINTEXT leaves the records exchanged with the brokers (first: {}) "
                     "unencrypted; use SASL_SSL",
                     broker_);
    else
      log::warn_once(once_key,
                     "{} over SASL_PLAINTEXT exposes the exchange with the brokers (first: {}) to offline password "
                     "guessing; use SASL_SSL",
                     opts_.sasl.mechanism, broker_);
  }
  const auto auth_version = versions_.get(protocol::api_key::sasl_authenticate);
  if (!auth_version)
    co_return fail(sasl_error("the broker does not offer SaslAuthenticate (KIP-152); use Apache Kafka 1.0 or newer"));
  auto step = (*mech)->step({});
  std::int64_t session_lifetime_ms = 0;
  for (int round = 0; step && step->status == sasl_status::respond; ++round) {
    if (round > 8) co_return fail(sasl_error("the exchange did not finish after 8 rounds"));
    protocol::sasl_authenticate_request req;
    req.auth_bytes = std::move(step->response);
    auto resp = co_await async_call(req, *auth_version, opts_.request_timeout);
    secure_wipe(req.auth_bytes.data(), req.auth_bytes.size());
    if (!resp) {
      if (resp.error().is(errc::connect))
        co_return fail(sasl_error("the broker closed the connection during authentication (wrong credentials or "
                                  "mechanism, or the user does not exist)"));
      co_return fail(std::move(resp.error()));
    }
    if (resp->error_code != 0) {
      const auto code = static_cast<protocol::error_code>(resp->error_code);
      std::string why = resp->error_message && !resp->error_message->empty() ? *resp->error_message
                                                                             : std::string(protocol::name(code));
      if (const auto detail = (*mech)->failure_detail(why); !detail.empty()) why += "; " + detail;
      co_return fail(sasl_error(why));
    }
    session_lifetime_ms = resp->session_lifetime_ms;
    step = (*mech)->step(resp->auth_bytes);
    secure_wipe(resp->auth_bytes.data(), resp->auth_bytes.size());
  }
  if (!step) co_return fail(sasl_error(step.error().message));
  ++authentications_;
  if (session_lifetime_ms > 0) {
    // KIP-368: re-authenticate at 85-95% of the session lifetime, as the Java client does.
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const double factor = std::uniform_real_distribution<double>(0.85, 0.95)(rng);
    reauth_at_ = clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(session_lifetime_ms * factor));
  } else {
    reauth_at_.reset();
  }
  co_return result<void>{};
}

asio::awaitable<result<void>> connection::async_before_send() {
  auto self = shared_from_this();
  for (int waits = 0; waits < 1000; ++waits) {
    if (closed_ || state_ != connection_state::ready) {
      if (failure_) co_return fail(*failure_);
      co_return fail(errc::connect, fmt::format("the connection to broker {} is not ready ({})", broker_,
                                                to_string(state_)));
    }
    if (reauthenticating_) {
      co_await reauth_gate_.async_wait(use_tuple);
      continue;
    }
    if (reauth_at_ && clock::now() >= *reauth_at_) {
      reauthenticating_ = true;
      reauth_gate_.expires_at(clock::time_point::max());
      log::debug("re-authenticating to broker {} before the SASL session expires (KIP-368)", broker_);
      auto reauthenticated = co_await async_authenticate();
      reauthenticating_ = false;
      reauth_gate_.cancel();
      if (!reauthenticated) {
        fail_all(reauthenticated.error());
        co_return reauthenticated;
      }
      continue;
    }
    if (clock::now() < throttle_until_) {
      asio::steady_timer timer(executor_);
      timer.expires_at(throttle_until_);
      co_await timer.async_wait(use_tuple);
      continue;
    }
    co_return result<void>{};
  }
  co_return fail(errc::internal, "request to broker " + broker_ + " waited too often for re-authentication");
}

}  // namespace kb::net
