#include "net/connection.hpp"

#include <gtest/gtest.h>

#include "protocol/api_versions.hpp"
#include "protocol/produce.hpp"
#include "tests/net/fake_broker.hpp"
#include "tests/net/test_certs.hpp"

namespace kb::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::fake_behavior;
using testing::fake_broker;

/// Runs `task` on `io` for at most `limit`; the result, or errc::internal if it did not finish.
template <class T>
result<T> run(asio::io_context& io, asio::awaitable<result<T>> task, std::chrono::milliseconds limit = 10s) {
  std::optional<result<T>> out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, result<T> r) {
    if (e) {
      out = fail(errc::internal, "coroutine threw");
      return;
    }
    out = std::move(r);
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!out && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  if (!out) return fail(errc::internal, "task did not finish in time");
  return std::move(*out);
}

connection_options plain_options() {
  connection_options opts;
  opts.request_timeout = 2s;
  opts.connect_timeout = 2s;
  return opts;
}

connection_options sasl_options(std::string password = "good-password") {
  auto opts = plain_options();
  opts.protocol = security_protocol::sasl_plaintext;
  opts.sasl = {"PLAIN", "backup", secret(std::move(password))};
  return opts;
}

fake_behavior no_sasl() {
  fake_behavior b;
  b.mechanisms.clear();
  return b;
}

std::shared_ptr<connection> connect_to(asio::io_context& io, const fake_broker& broker, connection_options opts,
                                       result<void>& outcome) {
  auto conn = connection::create(io.get_executor(), "127.0.0.1", broker.port(), std::move(opts));
  outcome = run(io, conn->async_connect());
  return conn;
}

protocol::api_versions_request named(std::string name) {
  protocol::api_versions_request req;
  req.client_software_name = std::move(name);
  req.client_software_version = "1";
  return req;
}

TEST(security_protocol, parses_the_four_names) {
  EXPECT_EQ(parse_security_protocol("PLAINTEXT").value(), security_protocol::plaintext);
  EXPECT_EQ(parse_security_protocol("ssl").value(), security_protocol::ssl);
  EXPECT_EQ(parse_security_protocol("SASL_PLAINTEXT").value(), security_protocol::sasl_plaintext);
  EXPECT_EQ(parse_security_protocol("SASL_SSL").value(), security_protocol::sasl_ssl);
  auto bad = parse_security_protocol("TLS");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::config));
}

TEST(connection, plaintext_reaches_ready_and_negotiates) {
  asio::io_context io;
  fake_broker broker(io, no_sasl());
  result<void> outcome;
  auto conn = connect_to(io, broker, plain_options(), outcome);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(conn->state(), connection_state::ready);
  EXPECT_EQ(conn->versions().get(protocol::api_key::fetch).value(), protocol::find_support(protocol::api_key::fetch)->max_version);
  EXPECT_EQ(broker.count(protocol::api_key::sasl_handshake), 0);
  auto resp = run(io, conn->async_request(named("hello")));
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_EQ(resp->supported_features.size(), 1u);
  EXPECT_EQ(resp->supported_features[0].name, "hello");
}

TEST(connection, older_broker_api_versions_fallback) {
  // A broker that knows ApiVersions only up to v2 (Apache Kafka 2.1-2.3) answers our v4 with
  // UNSUPPORTED_VERSION; the client retries at v2.
  asio::io_context io;
  fake_behavior b = no_sasl();
  b.api_versions_max = 2;
  fake_broker broker(io, b);
  result<void> outcome;
  auto conn = connect_to(io, broker, plain_options(), outcome);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(broker.count(protocol::api_key::api_versions), 2);
  EXPECT_EQ(broker.api_versions_answered(2), 1);
  EXPECT_EQ(conn->versions().get(protocol::api_key::api_versions).value(), 2);
}

TEST(connection, sasl_plain_authenticates) {
  asio::io_context io;
  fake_broker broker(io, fake_behavior{});
  result<void> outcome;
  auto conn = connect_to(io, broker, sasl_options(), outcome);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(conn->authentications(), 1);
  EXPECT_EQ(broker.count(protocol::api_key::sasl_handshake), 1);
  EXPECT_EQ(broker.count(protocol::api_key::sasl_authenticate), 1);
}

TEST(connection, wrong_password_is_a_sasl_error_without_the_password) {
  asio::io_context io;
  fake_broker broker(io, fake_behavior{});
  result<void> outcome;
  auto conn = connect_to(io, broker, sasl_options("Bad-Secret-42"), outcome);
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().is(errc::sasl));
  EXPECT_EQ(outcome.error().message,
            "SASL authentication failed: mechanism PLAIN, user 'backup', broker 127.0.0.1:" +
                std::to_string(broker.port()) + ": Authentication failed: Invalid username or password");
  EXPECT_EQ(outcome.error().message.find("Bad-Secret-42"), std::string::npos);
  EXPECT_EQ(conn->state(), connection_state::disconnected);
}

TEST(connection, mechanism_not_enabled_names_the_offered_ones) {
  asio::io_context io;
  fake_behavior b;
  b.mechanisms = {"SCRAM-SHA-512", "SCRAM-SHA-256"};
  fake_broker broker(io, b);
  result<void> outcome;
  connect_to(io, broker, sasl_options(), outcome);
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().is(errc::sasl));
  EXPECT_NE(outcome.error().message.find("does not enable PLAIN (it offers: SCRAM-SHA-512, SCRAM-SHA-256)"),
            std::string::npos)
      << outcome.error().message;
}

TEST(connection, refused_names_broker_and_fix) {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  auto conn = connection::create(io.get_executor(), "127.0.0.1", port, plain_options());
  auto outcome = run(io, conn->async_connect());
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().is(errc::connect));
  EXPECT_NE(outcome.error().message.find("cannot connect to broker 127.0.0.1:" + std::to_string(port)),
            std::string::npos);
  EXPECT_NE(outcome.error().message.find("check bootstrap_servers"), std::string::npos);
}

// The fail matrix: the broker drops the connection at each request of the handshake, or
// stays silent there; every case ends in the documented error class, never a hang.
TEST(connection, drop_matrix) {
  const std::vector<std::pair<int, errc>> expected = {
      {0, errc::connect},  // ApiVersions
      {1, errc::sasl},     // SaslHandshake
      {2, errc::sasl},     // SaslAuthenticate
  };
  for (const auto& [index, code] : expected) {
    asio::io_context io;
    fake_behavior b;
    b.drop_at_request = index;
    fake_broker broker(io, b);
    result<void> outcome;
    auto conn = connect_to(io, broker, sasl_options(), outcome);
    ASSERT_FALSE(outcome) << index;
    EXPECT_TRUE(outcome.error().is(code)) << index << ": " << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("127.0.0.1:" + std::to_string(broker.port())), std::string::npos);
    EXPECT_EQ(conn->state(), connection_state::disconnected);
  }
  // The listener hint belongs to a broker that closes on our ApiVersions (what a TLS or SASL listener does
  // to a plaintext request), not to a reset from the network: that hint misled on a flaky link (issue #16).
  for (const bool reset : {false, true}) {
    asio::io_context io;
    fake_behavior b;
    b.drop_at_request = 0;
    b.drop_with_reset = reset;
    fake_broker broker(io, b);
    result<void> outcome;
    auto conn = connect_to(io, broker, sasl_options(), outcome);
    ASSERT_FALSE(outcome);
    const auto& text = outcome.error().message;
    EXPECT_TRUE(outcome.error().is(errc::connect)) << text;
    if (reset) {
      EXPECT_EQ(text.find("check that the port is a"), std::string::npos) << text;
      EXPECT_NE(text.find("reset"), std::string::npos) << text;
    } else {
      EXPECT_NE(text.find("check that the port is a"), std::string::npos) << text;
    }
  }
  // Dropped after ready: the pending request fails with errc::connect.
  asio::io_context io;
  fake_behavior b;
  b.drop_at_request = 3;
  fake_broker broker(io, b);
  result<void> outcome;
  auto conn = connect_to(io, broker, sasl_options(), outcome);
  ASSERT_TRUE(outcome) << outcome.error().message;
  auto resp = run(io, conn->async_request(named("x")));
  ASSERT_FALSE(resp);
  EXPECT_TRUE(resp.error().is(errc::connect)) << resp.error().message;
  EXPECT_FALSE(conn->is_ready());
  auto again = run(io, conn->async_request(named("y")));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(errc::connect));
}

TEST(connection, silence_matrix_times_out) {
  for (int index = 0; index < 3; ++index) {
    asio::io_context io;
    fake_behavior b;
    b.silent_at_request = index;
    fake_broker broker(io, b);
    auto opts = sasl_options();
    opts.request_timeout = 200ms;
    const auto start = std::chrono::steady_clock::now();
    result<void> outcome;
    connect_to(io, broker, std::move(opts), outcome);
    ASSERT_FALSE(outcome) << index;
    EXPECT_TRUE(outcome.error().is(errc::timeout)) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("timed out after 200 ms"), std::string::npos);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  }
  // A request after ready times out; the connection stays usable and drops the late answer.
  asio::io_context io;
  fake_behavior b = no_sasl();
  b.silent_at_request = 1;
  fake_broker broker(io, b);
  result<void> outcome;
  auto conn = connect_to(io, broker, plain_options(), outcome);
  ASSERT_TRUE(outcome);
  auto slow = run(io, conn->async_request(named("slow"), 150ms));
  ASSERT_FALSE(slow);
  EXPECT_TRUE(slow.error().is(errc::timeout));
  auto next = run(io, conn->async_request(named("next")));
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->supported_features.at(0).name, "next");
}

// A gather-written Produce holds its batches' owner until the socket write has ended, also when
// the request timed out half-written and the caller let go of the batches.
TEST(connection, produce_batches_stay_alive_until_the_write_ends) {
  asio::io_context io;
  fake_behavior b = no_sasl();
  b.stop_reading_at_request = 1;  // reads ApiVersions, then nothing: the Produce write stalls
  fake_broker broker(io, b);
  result<void> outcome;
  auto conn = connect_to(io, broker, plain_options(), outcome);
  ASSERT_TRUE(outcome) << outcome.error().message;
  auto batches = std::make_shared<byte_vector>(std::size_t{32} << 20, std::uint8_t{0x5a});  // > socket buffers
  const std::weak_ptr<byte_vector> watch = batches;
  protocol::produce_request req;
  req.acks = -1;
  req.topic_data.push_back({"t", {{0, byte_view(*batches)}}});
  req.keep_alive = batches;
  batches.reset();
  auto resp = run(io, conn->async_request(std::move(req), 200ms));
  ASSERT_FALSE(resp);
  EXPECT_TRUE(resp.error().is(errc::timeout)) << resp.error().message;
  EXPECT_FALSE(watch.expired()) << "the batches were freed while the socket still wrote from them";
  conn->close();
  for (int i = 0; i < 250 && !watch.expired(); ++i) {
    io.restart();
    io.run_for(20ms);
  }
  EXPECT_TRUE(watch.expired()) << "the write's end did not release the batches";
}

TEST(connection, out_of_order_answers_match_by_correlation_id) {
  asio::io_context io;
  fake_behavior b = no_sasl();
  b.swap_first_two_user_requests = true;
  fake_broker broker(io, b);
  result<void> outcome;
  auto conn = connect_to(io, broker, plain_options(), outcome);
  ASSERT_TRUE(outcome);
  std::optional<result<protocol::api_versions_response>> first, second;
  asio::co_spawn(io, conn->async_request(named("first")), [&](std::exception_ptr, auto r) { first = std::move(r); });
  asio::co_spawn(io, conn->async_request(named("second")), [&](std::exception_ptr, auto r) { second = std::move(r); });
  for (int i = 0; i < 500 && !(first && second); ++i) {
    io.restart();
    io.run_for(10ms);
  }
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(*first && *second);
  EXPECT_EQ((*first)->supported_features.at(0).name, "first");
  EXPECT_EQ((*second)->supported_features.at(0).name, "second");
  EXPECT_EQ(conn->in_flight(), 0u);
}

TEST(connection, unknown_correlation_id_and_huge_frames_are_protocol_errors) {
  for (const bool oversized : {false, true}) {
    asio::io_context io;
    fake_behavior b = no_sasl();
    (oversized ? b.oversized_frame : b.wrong_correlation_id) = true;
    fake_broker broker(io, b);
    result<void> outcome;
    auto conn = connect_to(io, broker, plain_options(), outcome);
    ASSERT_TRUE(outcome);
    auto resp = run(io, conn->async_request(named("x")));
    ASSERT_FALSE(resp);
    EXPECT_TRUE(resp.error().is(errc::protocol)) << resp.error().message;
  }
}

TEST(connection, honours_throttle_time) {
  asio::io_context io;
  fake_behavior b = no_sasl();
  b.throttle_ms = 300;
  fake_broker broker(io, b);
  result<void> outcome;
  auto conn = connect_to(io, broker, plain_options(), outcome);
  ASSERT_TRUE(outcome);
  const auto start = std::chrono::steady_clock::now();
  auto resp = run(io, conn->async_request(named("x")));
  ASSERT_TRUE(resp);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 280ms);
}

TEST(connection, reauthenticates_before_session_expiry) {
  asio::io_context io;
  fake_behavior b;
  b.session_lifetime_ms = 200;
  fake_broker broker(io, b);
  result<void> outcome;
  auto conn = connect_to(io, broker, sasl_options(), outcome);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(conn->authentications(), 1);
  asio::steady_timer wait(io);
  wait.expires_after(250ms);
  wait.async_wait([](auto) {});
  io.restart();
  io.run_for(400ms);
  auto resp = run(io, conn->async_request(named("after")));
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(conn->authentications(), 2);
  EXPECT_EQ(broker.count(protocol::api_key::sasl_authenticate), 2);
  EXPECT_EQ(resp->supported_features.at(0).name, "after");
}

TEST(connection, tls_to_fake_broker_and_wrong_ca) {
  const auto& pki = testing::test_pki::get();
  ASSERT_TRUE(pki.ok);
  auto server_ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  server_ctx->use_certificate_chain_file(pki.path("server.crt"));
  server_ctx->use_private_key_file(pki.path("server.key"), asio::ssl::context::pem);
  for (const bool right_ca : {true, false}) {
    asio::io_context io;
    fake_behavior b = no_sasl();
    b.tls = server_ctx;
    fake_broker broker(io, b);
    auto opts = plain_options();
    opts.protocol = security_protocol::ssl;
    opts.tls.ca_location = pki.path(right_ca ? "ca.crt" : "other_ca.crt");
    result<void> outcome;
    auto conn = connect_to(io, broker, std::move(opts), outcome);
    if (right_ca) {
      ASSERT_TRUE(outcome) << outcome.error().message;
      EXPECT_TRUE(conn->is_ready());
    } else {
      ASSERT_FALSE(outcome);
      EXPECT_TRUE(outcome.error().is(errc::tls));
      EXPECT_EQ(outcome.error().message.rfind("SSL handshake failed: broker 127.0.0.1:", 0), 0u);
      EXPECT_NE(outcome.error().message.find("unable to get local issuer certificate"), std::string::npos);
    }
  }
}

TEST(connection, tls_handshake_times_out_on_a_silent_listener) {
  asio::io_context io;
  fake_behavior b = no_sasl();
  b.never_speak = true;
  fake_broker broker(io, b);
  auto opts = plain_options();
  opts.protocol = security_protocol::ssl;
  opts.connect_timeout = 200ms;
  opts.tls.ca_location = testing::test_pki::get().path("ca.crt");
  result<void> outcome;
  connect_to(io, broker, std::move(opts), outcome);
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().is(errc::tls)) << outcome.error().message;
  EXPECT_NE(outcome.error().message.find("SSL handshake failed"), std::string::npos);
}

TEST(connection, close_fails_pending_requests) {
  asio::io_context io;
  fake_behavior b = no_sasl();
  b.silent_at_request = 1;
  fake_broker broker(io, b);
  result<void> outcome;
  auto conn = connect_to(io, broker, plain_options(), outcome);
  ASSERT_TRUE(outcome);
  std::optional<result<protocol::api_versions_response>> pending;
  asio::co_spawn(io, conn->async_request(named("p")), [&](std::exception_ptr, auto r) { pending = std::move(r); });
  io.restart();
  io.run_for(50ms);
  EXPECT_EQ(conn->in_flight(), 1u);
  conn->close();
  io.restart();
  io.run_for(50ms);
  ASSERT_TRUE(pending);
  ASSERT_FALSE(*pending);
  EXPECT_TRUE(pending->error().is(errc::cancelled)) << pending->error().message;
}

}  // namespace
}  // namespace kb::net
