// One broker connection on Boost.Asio with C++20 coroutines: an explicit state machine
// (connect -> TLS -> ApiVersions -> SASL -> ready), several requests in flight matched by
// correlation id, per-request timeouts, KIP-368 re-authentication and KIP-219 throttling.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "net/sasl.hpp"
#include "net/security_protocol.hpp"
#include "net/tls.hpp"
#include "protocol/api.hpp"
#include "protocol/header.hpp"
#include "protocol/request_pieces.hpp"

namespace kb::net {

enum class listener_symptom;  // net/listener_probe.hpp

/// After librdkafka's broker states; any state at `ready` means requests may be sent.
enum class connection_state {
  disconnected,
  connecting,
  tls_handshake,
  api_versions,
  sasl_handshake,
  sasl_authenticate,
  ready,
};
[[nodiscard]] std::string_view to_string(connection_state s) noexcept;

struct connection_options {
  security_protocol protocol = security_protocol::plaintext;
  sasl_credentials sasl;  ///< used when uses_sasl(protocol)
  tls_options tls;        ///< used when uses_tls(protocol) and `tls_context` is null
  /// A context shared by all connections of a cluster (make_tls_context); built from `tls`
  /// on connect when null.
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  std::string client_id = "kafka-backup";
  std::chrono::milliseconds connect_timeout{10'000};   ///< TCP connect plus TLS handshake
  std::chrono::milliseconds request_timeout{30'000};   ///< default per request
  std::int32_t max_response_bytes = 512 * 1024 * 1024; ///< larger size prefixes are a protocol error
  /// Caps the negotiated version of an API (never below the lowest common version); ApiVersions
  /// itself is first sent at min(cap, our max). Empty: the highest common version everywhere.
  std::map<protocol::api_key, std::int16_t> max_versions;
  /// When a failure looks like a security_protocol that does not match the port, probe the port
  /// once (net/listener_probe.hpp) and name the listener type in the error. Off for the probes.
  bool identify_listener_on_failure = true;
};

/// One TCP (optionally TLS) connection to one broker.
///
/// Threading: a connection and every coroutine that calls it must run on the executor given to
/// create(), which must not run handlers concurrently (a single-threaded io_context or a strand).
/// Lifetime: held by shared_ptr; its read and write loops keep it alive until close() or a
/// connection error. Requests may be issued concurrently (several coroutines) once ready.
class connection : public std::enable_shared_from_this<connection> {
 public:
  [[nodiscard]] static std::shared_ptr<connection> create(boost::asio::any_io_executor executor, std::string host,
                                                          std::uint16_t port, connection_options opts);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Runs the state machine to `ready`. Errors: errc::connect (resolve, refused, timeout, closed),
  /// errc::tls ("SSL handshake failed: …"), errc::sasl ("SASL authentication failed: mechanism M,
  /// user 'u', broker h:p: …"), errc::unsupported (no common API versions), errc::timeout.
  /// On error the connection is closed and may not be reused.
  [[nodiscard]] boost::asio::awaitable<result<void>> async_connect();

  /// Sends `req` at the negotiated version and awaits its response (errc::unsupported when the
  /// broker lacks the API). Waits first for a broker throttle to pass and re-authenticates when
  /// the SASL session is about to expire. Produce with acks=0 returns a default response at once.
  /// Errors: errc::timeout (the connection stays usable), errc::connect/tls when the connection
  /// broke (it is then closed), errc::protocol for undecodable responses.
  /// `req` is taken by value so the coroutine owns it (safe to co_spawn); byte views inside it
  /// (record batches) must stay valid until the coroutine completes. A Produce request that
  /// expects a response and carries a `keep_alive` owning its batches is gather-written from
  /// them (not copied); `keep_alive` is held until the socket write has finished.
  template <class Request>
  [[nodiscard]] boost::asio::awaitable<result<typename Request::response_type>> async_request(
      Request req, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  /// Same at an explicit version (must lie in our table's range).
  template <class Request>
  [[nodiscard]] boost::asio::awaitable<result<typename Request::response_type>> async_request_at(
      Request req, std::int16_t version, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  /// Closes the socket; pending requests fail with errc::connect (or errc::cancelled if asked).
  void close();

  [[nodiscard]] connection_state state() const noexcept { return state_; }
  [[nodiscard]] bool is_ready() const noexcept { return state_ == connection_state::ready; }
  /// "host:port", for messages.
  [[nodiscard]] const std::string& broker() const noexcept { return broker_; }
  [[nodiscard]] const std::string& host() const noexcept { return host_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const protocol::version_table& versions() const noexcept { return versions_; }
  [[nodiscard]] std::size_t in_flight() const noexcept { return pending_.size(); }
  /// Number of completed SASL authentications (1 after connect, +1 per re-authentication).
  [[nodiscard]] int authentications() const noexcept { return authentications_; }
  [[nodiscard]] const boost::asio::any_io_executor& get_executor() const noexcept { return executor_; }

 private:
  struct pending_request;
  /// A frame to write: `frame`, or, when `splices` is not empty, `frame` with borrowed views
  /// spliced in (protocol/request_pieces.hpp), written as one buffer sequence. `keep_alive` owns
  /// what the views point into until the write has finished, even when the request timed out.
  struct outgoing {
    byte_vector frame;
    bool sensitive = false;  ///< wiped after the write (SASL tokens)
    std::vector<protocol::writer::splice> splices;
    std::shared_ptr<const void> keep_alive;
  };

  connection(boost::asio::any_io_executor executor, std::string host, std::uint16_t port, connection_options opts);

  template <class Request>
  boost::asio::awaitable<result<typename Request::response_type>> async_call(const Request& req,
                                                                             std::int16_t version,
                                                                             std::chrono::milliseconds timeout);
  boost::asio::awaitable<result<void>> async_connect_steps();
  boost::asio::awaitable<result<void>> async_open_socket(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<result<void>> async_tls_handshake(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<result<void>> async_negotiate_versions();
  boost::asio::awaitable<result<void>> async_authenticate();
  boost::asio::awaitable<result<void>> async_before_send();
  /// Sends one encoded frame and awaits the response body (header included) unless !expect_response.
  boost::asio::awaitable<result<shared_bytes>> async_exchange(outgoing out, std::int32_t correlation_id,
                                                              std::string_view what, std::chrono::milliseconds timeout,
                                                              bool expect_response);
  boost::asio::awaitable<void> async_read_loop();
  /// Reads exactly `size` bytes of a response body from the plain socket.
  boost::asio::awaitable<boost::system::error_code> async_read_plain_body(std::uint8_t* dst, std::size_t size);
  boost::asio::awaitable<void> async_write_loop();
  void enqueue(outgoing out);
  void note_throttle(std::int32_t throttle_ms);
  /// The error of a failure that a wrong security_protocol explains, after probing the port;
  /// nullopt when the probe does not confirm it.
  boost::asio::awaitable<std::optional<error>> async_explain_wrong_listener();
  /// Fails every pending request with `err`, closes the socket, moves to disconnected.
  void fail_all(const error& err);
  [[nodiscard]] error transport_error(const boost::system::error_code& ec, std::string_view during) const;
  [[nodiscard]] error sasl_error(std::string_view why) const;
  [[nodiscard]] std::int32_t next_correlation_id() noexcept { return ++correlation_; }

  boost::asio::any_io_executor executor_;
  std::string host_;
  std::uint16_t port_;
  std::string broker_;
  connection_options opts_;
  connection_state state_ = connection_state::disconnected;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_stream_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  protocol::version_table versions_;
  std::int32_t correlation_ = 0;
  std::map<std::int32_t, pending_request*> pending_;
  std::set<std::int32_t> abandoned_;  ///< timed-out requests whose late responses are dropped
  std::deque<outgoing> write_queue_;
  bool writing_ = false;
  bool closed_ = false;
  int receive_low_water_ = 1;  ///< SO_RCVLOWAT of the plain socket
  std::optional<error> failure_;
  std::chrono::steady_clock::time_point throttle_until_{};
  std::optional<std::chrono::steady_clock::time_point> reauth_at_;
  bool reauthenticating_ = false;
  boost::asio::steady_timer reauth_gate_;  ///< requests wait on it while re-authenticating
  int authentications_ = 0;
  /// Set where a failure is typical of a wrong listener (listener_probe.hpp's listener_symptom).
  std::optional<listener_symptom> wrong_listener_symptom_;
  bool answered_when_ready_ = false;  ///< a response arrived after connect finished
  bool listener_probed_ = false;
};

}  // namespace kb::net

#include "net/connection_impl.hpp"
