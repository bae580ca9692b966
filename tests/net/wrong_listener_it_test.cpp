// Integration: every security_protocol against every harness listener it does not match
// (PLAINTEXT, SSL, MTLS, SASL_PLAINTEXT, SASL_SSL): the error names the listener type the port
// is and the security_protocol to set, and carries the exit-3 class (tls or sasl).
#include <iostream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <gtest/gtest.h>

#include "net/connection.hpp"
#include "net/listener_probe.hpp"
#include "protocol/metadata.hpp"
#include "tests/net/kafka_it.hpp"

namespace kb::net {
namespace {

using namespace testing;

struct wrong_case {
  security_protocol client;
  const char* listener_name;
  errc code;
  std::vector<std::string> phrases;  ///< each must appear in the message
};

connection_options client_options(security_protocol p) {
  connection_options opts;
  opts.protocol = p;
  opts.client_id = "kb-net-wrong-listener-it";
  opts.connect_timeout = 15s;
  opts.request_timeout = 30s;
  if (uses_tls(p)) opts.tls.ca_location = env().str({"tls", "ca"});
  if (uses_sasl(p)) opts.sasl = {"SCRAM-SHA-512", "backup", secret(env().str({"users", "backup"}))};
  return opts;
}

/// Connects and sends Metadata (a SASL listener only refuses the request after ApiVersions).
error first_failure(const wrong_case& c) {
  session s(c.listener_name, client_options(c.client));
  auto connected = s.connect();
  if (!connected) return connected.error();
  protocol::metadata_request md;
  md.allow_auto_topic_creation = false;
  auto answered = s.send(md);
  if (!answered) return answered.error();
  return error{make_error_code(errc::ok), "connected and read metadata"};
}

TEST(wrong_listener_it, every_mismatch_names_the_listener_and_the_security_protocol) {
  using sp = security_protocol;
  const std::vector<wrong_case> cases = {
      {sp::plaintext, "SSL", errc::tls, {"the port is an SSL listener", "set security_protocol: SSL"}},
      {sp::plaintext, "SASL_SSL", errc::tls,
       {"the port is a SASL_SSL listener", "SCRAM-SHA-512", "set security_protocol: SASL_SSL"}},
      {sp::plaintext, "MTLS", errc::tls,
       {"the port is an SSL listener that requires a client certificate", "set security_protocol: SSL"}},
      {sp::plaintext, "SASL_PLAINTEXT", errc::sasl,
       {"requires SASL authentication", "the port is a SASL_PLAINTEXT listener",
        "set security_protocol: SASL_PLAINTEXT"}},
      {sp::ssl, "PLAINTEXT", errc::tls,
       {"SSL handshake failed", "the port is a PLAINTEXT listener", "set security_protocol: PLAINTEXT"}},
      {sp::ssl, "SASL_PLAINTEXT", errc::tls,
       {"SSL handshake failed", "the port is a SASL_PLAINTEXT listener", "set security_protocol: SASL_PLAINTEXT"}},
      {sp::ssl, "SASL_SSL", errc::sasl,
       {"requires SASL authentication", "the port is a SASL_SSL listener", "set security_protocol: SASL_SSL"}},
      {sp::ssl, "MTLS", errc::tls,
       {"SSL handshake failed", "requires a client certificate (mTLS)", "set ssl_certificate_location"}},
      {sp::sasl_plaintext, "PLAINTEXT", errc::sasl,
       {"ILLEGAL_SASL_STATE", "the port is a PLAINTEXT listener", "set security_protocol: PLAINTEXT"}},
      {sp::sasl_plaintext, "SSL", errc::tls, {"the port is an SSL listener", "set security_protocol: SSL"}},
      {sp::sasl_plaintext, "SASL_SSL", errc::tls,
       {"the port is a SASL_SSL listener", "set security_protocol: SASL_SSL"}},
      {sp::sasl_plaintext, "MTLS", errc::tls,
       {"the port is an SSL listener that requires a client certificate", "set security_protocol: SSL"}},
      {sp::sasl_ssl, "PLAINTEXT", errc::tls,
       {"SSL handshake failed", "the port is a PLAINTEXT listener", "set security_protocol: PLAINTEXT"}},
      {sp::sasl_ssl, "SASL_PLAINTEXT", errc::tls,
       {"SSL handshake failed", "the port is a SASL_PLAINTEXT listener", "set security_protocol: SASL_PLAINTEXT"}},
      {sp::sasl_ssl, "SSL", errc::sasl,
       {"ILLEGAL_SASL_STATE", "the port is an SSL listener", "set security_protocol: SSL"}},
      {sp::sasl_ssl, "MTLS", errc::tls,
       {"SSL handshake failed", "requires a client certificate (mTLS)", "set ssl_certificate_location"}},
  };
  for (const auto& c : cases) {
    const std::string name = std::string(to_string(c.client)) + " client on the " + c.listener_name + " listener";
    SCOPED_TRACE(name);
    const error e = first_failure(c);
    std::cerr << "[message] " << name << ": " << e.message << "\n";
    EXPECT_EQ(e.code, make_error_code(c.code)) << e.message;
    for (const auto& phrase : c.phrases) EXPECT_NE(e.message.find(phrase), std::string::npos) << phrase;
    // The pre-fix texts: a bare end of file, or ILLEGAL_SASL_STATE without a hint.
    EXPECT_EQ(e.message.find("End of file"), std::string::npos) << e.message;
  }
}

TEST(wrong_listener_it, the_probe_identifies_each_listener) {
  struct expected {
    const char* listener_name;
    bool tls;
    security_protocol protocol;
    bool sasl_mechanisms;
    bool client_certificate;
  };
  const std::vector<expected> all = {
      {"PLAINTEXT", false, security_protocol::plaintext, false, false},
      {"SASL_PLAINTEXT", false, security_protocol::sasl_plaintext, true, false},
      {"SSL", true, security_protocol::ssl, false, false},
      {"SASL_SSL", true, security_protocol::sasl_ssl, true, false},
      {"MTLS", true, security_protocol::ssl, false, true},
  };
  for (const auto& x : all) {
    SCOPED_TRACE(x.listener_name);
    asio::io_context io;
    const auto t = listener(x.listener_name);
    std::optional<std::optional<listener_kind>> out;
    const connection_options defaults;  // outlives the probe: it is taken by reference
    asio::co_spawn(io, async_identify_listener(io.get_executor(), t.host, t.port, x.tls, defaults),
                   [&](std::exception_ptr, std::optional<listener_kind> k) { out = std::move(k); });
    io.run_for(20s);
    ASSERT_TRUE(out.has_value()) << "the probe did not finish within 20 s";
    ASSERT_TRUE(out->has_value()) << "the probe did not recognise the listener";
    EXPECT_EQ((*out)->protocol, x.protocol);
    EXPECT_EQ(!(*out)->mechanisms.empty(), x.sasl_mechanisms);
    EXPECT_EQ((*out)->client_certificate_required, x.client_certificate);
  }
  // The wrong kind of probe finds no Kafka listener: plaintext on a TLS port.
  asio::io_context io;
  const auto t = listener("SSL");
  std::optional<std::optional<listener_kind>> out;
  const connection_options defaults;
  asio::co_spawn(io, async_identify_listener(io.get_executor(), t.host, t.port, false, defaults),
                 [&](std::exception_ptr, std::optional<listener_kind> k) { out = std::move(k); });
  io.run_for(20s);
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(out->has_value());
}

}  // namespace
}  // namespace kb::net
