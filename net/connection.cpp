// Broker connection framing and I/O: request/response exchange by correlation id, the write
// and read loops, transport errors and closing (the handshake is in connection_handshake.cpp).
#include "net/connection.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "base/log.hpp"
#include "net/listener_probe.hpp"
#include "net/write_buffers.hpp"
#include "protocol/api_versions.hpp"
#include "protocol/error_codes.hpp"

namespace kb::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;

std::int64_t ms_count(std::chrono::milliseconds ms) { return static_cast<std::int64_t>(ms.count()); }

}  // namespace

struct connection::pending_request {
  explicit pending_request(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  std::optional<result<shared_bytes>> outcome;
};

result<security_protocol> parse_security_protocol(std::string_view text) {
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (upper == "PLAINTEXT") return security_protocol::plaintext;
  if (upper == "SSL") return security_protocol::ssl;
  if (upper == "SASL_PLAINTEXT") return security_protocol::sasl_plaintext;
  if (upper == "SASL_SSL") return security_protocol::sasl_ssl;
  return fail(errc::config, "security_protocol '" + std::string(text) +
                                "' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
}

std::string_view to_string(security_protocol p) noexcept {
  switch (p) {
    case security_protocol::plaintext: return "PLAINTEXT";
    case security_protocol::ssl: return "SSL";
    case security_protocol::sasl_plaintext: return "SASL_PLAINTEXT";
    case security_protocol::sasl_ssl: return "SASL_SSL";
  }
  return "?";
}

std::string_view to_string(connection_state s) noexcept {
  switch (s) {
    case connection_state::disconnected: return "disconnected";
    case connection_state::connecting: return "connecting";
    case connection_state::tls_handshake: return "TLS handshake";
    case connection_state::api_versions: return "ApiVersions";
    case connection_state::sasl_handshake: return "SaslHandshake";
    case connection_state::sasl_authenticate: return "SaslAuthenticate";
    case connection_state::ready: return "ready";
  }
  return "?";
}

std::shared_ptr<connection> connection::create(asio::any_io_executor executor, std::string host, std::uint16_t port,
                                               connection_options opts) {
  return std::shared_ptr<connection>(new connection(std::move(executor), std::move(host), port, std::move(opts)));
}

connection::connection(asio::any_io_executor executor, std::string host, std::uint16_t port, connection_options opts)
    : executor_(std::move(executor)),
      host_(std::move(host)),
      port_(port),
      broker_(host_.find(':') != std::string::npos ? "[" + host_ + "]:" + std::to_string(port_)
                                                   : host_ + ":" + std::to_string(port_)),
      opts_(std::move(opts)),
      socket_(executor_),
      reauth_gate_(executor_) {}

connection::~connection() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}


void connection::note_throttle(std::int32_t throttle_ms) {
  if (throttle_ms <= 0) return;
  const auto until = clock::now() + std::chrono::milliseconds(throttle_ms);
  if (until > throttle_until_) throttle_until_ = until;
  log::debug("broker {} throttles this client for {} ms (quota)", broker_, throttle_ms);
}

void connection::enqueue(outgoing out) {
  write_queue_.push_back(std::move(out));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(executor_, shared_from_this()->async_write_loop(), asio::detached);
  }
}

asio::awaitable<result<shared_bytes>> connection::async_exchange(outgoing out, std::int32_t correlation_id,
                                                                 std::string_view what,
                                                                 std::chrono::milliseconds timeout,
                                                                 bool expect_response) {
  auto self = shared_from_this();
  if (closed_) {
    if (out.sensitive) secure_wipe(out.frame.data(), out.frame.size());
    if (failure_) co_return fail(*failure_);
    co_return fail(errc::connect, "the connection to broker " + broker_ + " is closed");
  }
  if (!expect_response) {
    enqueue(std::move(out));
    co_return shared_bytes{};
  }
  pending_request pending(executor_);
  pending_[correlation_id] = &pending;
  const bool first_when_ready = state_ == connection_state::ready && !answered_when_ready_;
  enqueue(std::move(out));
  pending.timer.expires_after(timeout);
  co_await pending.timer.async_wait(use_tuple);
  if (auto it = pending_.find(correlation_id); it != pending_.end() && it->second == &pending) pending_.erase(it);
  if (pending.outcome) {
    // Without SASL, a SASL listener closes the connection at the first request after ApiVersions.
    if (!*pending.outcome && pending.outcome->error().is(errc::connect) && first_when_ready &&
        !uses_sasl(opts_.protocol) && !answered_when_ready_) {
      wrong_listener_symptom_ = listener_symptom::closed_before_sasl;
      if (auto explained = co_await async_explain_wrong_listener()) {
        failure_ = *explained;
        co_return fail(std::move(*explained));
      }
    }
    co_return std::move(*pending.outcome);
  }
  abandoned_.insert(correlation_id);
  co_return fail(errc::timeout, fmt::format("{} request to broker {} timed out after {} ms; the broker may be "
                                            "overloaded or unreachable",
                                            what, broker_, ms_count(timeout)));
}

asio::awaitable<void> connection::async_write_loop() {
  auto self = shared_from_this();
  while (!write_queue_.empty()) {
    outgoing& front = write_queue_.front();
    boost::system::error_code ec;
    if (!closed_) {
      // One buffer sequence: the frame's own bytes with the borrowed batches between them; under
      // TLS small neighbours are joined first (each buffer would be its own TLS record and write).
      byte_vector staging;
      const auto buffers = write_buffers(front.frame, front.splices, tls_stream_ ? tls_join_below : 0, staging);
      if (tls_stream_) {
        auto [wec, n] = co_await asio::async_write(*tls_stream_, buffers, use_tuple);
        ec = wec;
      } else {
        auto [wec, n] = co_await asio::async_write(socket_, buffers, use_tuple);
        ec = wec;
      }
    }
    if (front.sensitive) secure_wipe(front.frame.data(), front.frame.size());
    write_queue_.pop_front();  // releases keep_alive: the batches may go now
    if (ec) fail_all(transport_error(ec, "sending a request"));
  }
  writing_ = false;
}

asio::awaitable<void> connection::async_read_loop() {
  auto self = shared_from_this();
  std::array<std::uint8_t, 4> prefix{};
  while (!closed_) {
    boost::system::error_code ec;
    if (tls_stream_) {
      auto [rec, n] = co_await asio::async_read(*tls_stream_, asio::buffer(prefix), use_tuple);
      ec = rec;
    } else {
      auto [rec, n] = co_await asio::async_read(socket_, asio::buffer(prefix), use_tuple);
      ec = rec;
    }
    if (ec) {
      fail_all(transport_error(ec, "reading a response"));
      co_return;
    }
    // A TLS listener answers our plaintext ApiVersions with an alert record: 0x15 0x03 <minor>
    // (read as a ~350 MB size prefix, below the frame limit).
    if (!tls_stream_ && (prefix[0] == 0x15 || prefix[0] == 0x16) && prefix[1] == 0x03 &&
        state_ == connection_state::api_versions) {
      wrong_listener_symptom_ = listener_symptom::tls_record_on_plaintext;
      fail_all(error{make_error_code(errc::tls),
                     fmt::format("broker {} speaks TLS on this port: {}", broker_,
                                 probable_listener_hint(opts_.protocol, listener_symptom::tls_record_on_plaintext))});
      co_return;
    }
    const std::int32_t size = protocol::peek_frame_size(prefix).value_or(-1);
    if (size < 4 || size > opts_.max_response_bytes) {
      fail_all(error{make_error_code(errc::protocol),
                     fmt::format("broker {} sent a response frame of {} bytes (limit {}); is this a Kafka listener "
                                 "speaking {}?",
                                 broker_, size, opts_.max_response_bytes, to_string(opts_.protocol))});
      co_return;
    }
    // Not zero-filled (unlike byte_vector(size)): every byte is overwritten by the read.
    const auto body_size = static_cast<std::size_t>(size);
    std::unique_ptr<std::uint8_t[]> body(new std::uint8_t[body_size]);
    if (tls_stream_) {
      auto [rec, n] = co_await asio::async_read(*tls_stream_, asio::buffer(body.get(), body_size), use_tuple);
      ec = rec;
    } else {
      ec = co_await async_read_plain_body(body.get(), body_size);
    }
    if (ec) {
      fail_all(transport_error(ec, "reading a response"));
      co_return;
    }
    const std::int32_t correlation_id = protocol::peek_correlation_id(byte_view(body.get(), body_size)).value_or(-1);
    if (auto it = pending_.find(correlation_id); it != pending_.end()) {
      pending_request* pending = it->second;
      pending_.erase(it);
      if (state_ == connection_state::ready) answered_when_ready_ = true;
      pending->outcome = shared_bytes(std::move(body), body_size);
      pending->timer.cancel();
    } else if (abandoned_.erase(correlation_id) == 0) {
      fail_all(error{make_error_code(errc::protocol),
                     fmt::format("broker {} answered correlation id {} which no request used", broker_,
                                 correlation_id)});
      co_return;
    }
  }
}

asio::awaitable<boost::system::error_code> connection::async_read_plain_body(std::uint8_t* dst, std::size_t size) {
  // A large fetch response trickles in ~64 KiB per wake-up (one epoll_wait and one recv each,
  // ~10,000 of each for 600 MB). SO_RCVLOWAT asks the kernel to wake us once a whole piece has
  // arrived; never more than what is still to come, so the last piece wakes us too. The kernel
  // grows the receive buffer to fit and still wakes early when its window would close.
  constexpr std::size_t wake_bytes = 1u << 20;
  constexpr std::size_t small_body = 256u << 10;
  auto set_low_water = [this](int bytes) {
    if (bytes == receive_low_water_) return;
    boost::system::error_code ignored;  // advisory: without it reads are just smaller
    socket_.set_option(asio::socket_base::receive_low_watermark(bytes), ignored);
    receive_low_water_ = bytes;
  };
  std::size_t got = 0;
  while (got < size) {
    const std::size_t left = size - got;
    if (size >= small_body) set_low_water(static_cast<int>(std::min(left, wake_bytes)));
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(dst + got, left), use_tuple);
    if (ec) co_return ec;
    got += n;
  }
  set_low_water(1);  // the next 4-byte size prefix, and small responses
  co_return boost::system::error_code{};
}

error connection::transport_error(const boost::system::error_code& ec, std::string_view during) const {
  if (closed_ && failure_) return *failure_;
  if (ec == asio::error::operation_aborted && closed_)
    return error{make_error_code(errc::cancelled), "the connection to broker " + broker_ + " was closed"};
  const bool handshaking = state_ == connection_state::tls_handshake || state_ == connection_state::api_versions;
  if (ec.category() == asio::error::get_ssl_category() ||
      (tls_stream_ && ec == asio::ssl::error::stream_truncated && handshaking))
    return error{make_error_code(errc::tls),
                 tls_failure_text(broker_, ec, tls_stream_ ? tls_stream_->native_handle() : nullptr)};
  // A listener of another type closes on our first request (end of file); a reset or a timeout is the
  // network or the broker going away, where a listener hint would mislead.
  std::string hint;
  if (state_ == connection_state::api_versions && ec == asio::error::eof)
    hint = fmt::format("; check that the port is a {} listener (security_protocol)", to_string(opts_.protocol));
  return error{make_error_code(errc::connect),
               fmt::format("connection to broker {} lost while {} ({}): {}{}", broker_, during, to_string(state_),
                           ec.message(), hint)};
}

asio::awaitable<std::optional<error>> connection::async_explain_wrong_listener() {
  auto self = shared_from_this();
  if (!wrong_listener_symptom_ || listener_probed_ || !opts_.identify_listener_on_failure) co_return std::nullopt;
  listener_probed_ = true;
  const auto symptom = *wrong_listener_symptom_;
  const bool probe_tls = symptom == listener_symptom::tls_record_on_plaintext ? true
                         : symptom == listener_symptom::closed_on_client_hello ? false
                                                                               : uses_tls(opts_.protocol);
  auto kind = co_await async_identify_listener(executor_, host_, port_, probe_tls, opts_);
  if (!kind) co_return std::nullopt;
  const std::string hint = wrong_listener_hint(opts_.protocol, *kind);
  switch (symptom) {
    case listener_symptom::tls_record_on_plaintext:
      co_return error{make_error_code(errc::tls), fmt::format("broker {} speaks TLS on this port: {}", broker_, hint)};
    case listener_symptom::closed_on_client_hello:
      if (uses_tls(kind->protocol)) co_return std::nullopt;  // a TLS listener: the handshake failed for another reason
      co_return error{make_error_code(errc::tls),
                      fmt::format("SSL handshake failed: broker {} closed the connection on our TLS ClientHello: {}",
                                  broker_, hint)};
    case listener_symptom::closed_before_sasl:
      if (!uses_sasl(kind->protocol)) co_return std::nullopt;  // not a SASL listener: the broker went away
      co_return error{make_error_code(errc::sasl),
                      fmt::format("broker {} requires SASL authentication on this port: {}", broker_, hint)};
    case listener_symptom::sasl_not_enabled: break;
  }
  co_return std::nullopt;
}

void connection::fail_all(const error& err) {
  if (!failure_) failure_ = err;
  closed_ = true;
  state_ = connection_state::disconnected;
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, request] : pending) {
    request->outcome = fail(*failure_);
    request->timer.cancel();
  }
  reauth_gate_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);  // no TLS close_notify: the peer is gone or we are giving up anyway
}

void connection::close() {
  if (closed_) return;
  fail_all(error{make_error_code(errc::cancelled), "the connection to broker " + broker_ + " was closed"});
}

}  // namespace kb::net

