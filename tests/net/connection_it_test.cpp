// Integration: net::connection against the harness's real Kafka (tests/harness/cluster.py):
// every listener and SASL mechanism, plus wrong password, wrong CA and expired client cert.
#include "net/connection.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "protocol/metadata.hpp"
#include "tests/net/harness_env.hpp"

namespace kb::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::env;
using testing::run;

struct target {
  std::string host;
  std::uint16_t port = 0;
};

target listener(const char* name) {
  const std::string hp = env().str({"kafka", "listeners", name});
  EXPECT_FALSE(hp.empty()) << "env.json lacks kafka.listeners." << name;
  const auto colon = hp.rfind(':');
  if (colon == std::string::npos) return {};
  return {hp.substr(0, colon), static_cast<std::uint16_t>(std::stoi(hp.substr(colon + 1)))};
}

connection_options base_options(security_protocol protocol) {
  connection_options opts;
  opts.protocol = protocol;
  opts.client_id = "kb-net-it";
  opts.connect_timeout = 15s;
  opts.request_timeout = 30s;
  if (uses_tls(protocol)) opts.tls.ca_location = env().str({"tls", "ca"});
  return opts;
}

void with_sasl(connection_options& opts, const char* mechanism, const char* user = "backup",
               std::optional<std::string> password = std::nullopt) {
  opts.sasl.mechanism = mechanism;
  opts.sasl.username = user;
  opts.sasl.password = secret(password.value_or(env().str({"users", user})));
}

/// Connects, checks ApiVersions negotiated Metadata, sends Metadata for all topics.
void expect_metadata(const char* listener_name, connection_options opts) {
  const auto t = listener(listener_name);
  asio::io_context io;
  auto conn = connection::create(io.get_executor(), t.host, t.port, std::move(opts));
  auto connected = run(io, conn->async_connect());
  ASSERT_TRUE(connected) << listener_name << ": " << connected.error().message;
  EXPECT_TRUE(conn->is_ready());
  auto version = conn->versions().get(protocol::api_key::metadata);
  ASSERT_TRUE(version);
  EXPECT_GE(*version, 12);  // Kafka 4.x offers Metadata v12+
  protocol::metadata_request req;
  req.allow_auto_topic_creation = false;
  auto md = run(io, conn->async_request(req));
  ASSERT_TRUE(md) << listener_name << ": " << md.error().message;
  EXPECT_FALSE(md->brokers.empty());
  ASSERT_TRUE(md->cluster_id.has_value());
  EXPECT_FALSE(md->cluster_id->empty());
  bool listed_self = false;
  for (const auto& b : md->brokers) listed_self = listed_self || (b.port == t.port);
  EXPECT_TRUE(listed_self) << "the broker should advertise the listener we used";
  conn->close();
}

/// Connects expecting failure; prints the message (it must hold no secret) for the log.
result<void> try_connect(const char* listener_name, connection_options opts) {
  const auto t = listener(listener_name);
  asio::io_context io;
  auto conn = connection::create(io.get_executor(), t.host, t.port, std::move(opts));
  auto outcome = run(io, conn->async_connect());
  if (!outcome) std::cerr << "[message] " << outcome.error().message << "\n";
  return outcome;
}

TEST(connection_it, plaintext) { expect_metadata("PLAINTEXT", base_options(security_protocol::plaintext)); }

TEST(connection_it, ssl) { expect_metadata("SSL", base_options(security_protocol::ssl)); }

TEST(connection_it, ssl_by_host_name) {
  // The broker certificate names DNS:localhost as well as IP:127.0.0.1.
  auto t = listener("SSL");
  asio::io_context io;
  auto conn = connection::create(io.get_executor(), "localhost", t.port, base_options(security_protocol::ssl));
  auto connected = run(io, conn->async_connect());
  EXPECT_TRUE(connected) << connected.error().message;
}

TEST(connection_it, mtls_with_each_key_format) {
  const std::vector<std::pair<const char*, bool>> keys = {
      {"client_key", false}, {"client_key_pkcs1", false}, {"client_key_encrypted", true}};
  for (const auto& [key, encrypted] : keys) {
    SCOPED_TRACE(key);
    auto opts = base_options(security_protocol::ssl);
    opts.tls.certificate_location = env().str({"tls", "client_cert"});
    opts.tls.key_location = env().str({"tls", key});
    if (encrypted) opts.tls.key_password = secret(env().str({"tls", "client_key_password"}));
    expect_metadata("MTLS", std::move(opts));
  }
}

TEST(connection_it, sasl_plaintext_each_mechanism) {
  for (const char* mech : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    SCOPED_TRACE(mech);
    auto opts = base_options(security_protocol::sasl_plaintext);
    with_sasl(opts, mech);
    expect_metadata("SASL_PLAINTEXT", std::move(opts));
  }
}

TEST(connection_it, sasl_ssl_each_mechanism) {
  for (const char* mech : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    SCOPED_TRACE(mech);
    auto opts = base_options(security_protocol::sasl_ssl);
    with_sasl(opts, mech);
    expect_metadata("SASL_SSL", std::move(opts));
  }
}

TEST(connection_it, wrong_password_fails_sasl) {
  const std::string bad = "Not-The-Password-7";
  for (const char* listener_name : {"SASL_PLAINTEXT", "SASL_SSL"}) {
    for (const char* mech : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
      SCOPED_TRACE(std::string(listener_name) + " " + mech);
      auto opts = base_options(std::string_view(listener_name) == "SASL_SSL" ? security_protocol::sasl_ssl
                                                                             : security_protocol::sasl_plaintext);
      with_sasl(opts, mech, "backup", bad);
      auto outcome = try_connect(listener_name, std::move(opts));
      ASSERT_FALSE(outcome);
      EXPECT_TRUE(outcome.error().is(errc::sasl)) << outcome.error().message;
      const std::string prefix = std::string("SASL authentication failed: mechanism ") + mech + ", user 'backup'";
      EXPECT_EQ(outcome.error().message.rfind(prefix, 0), 0u) << outcome.error().message;
      EXPECT_EQ(outcome.error().message.find(bad), std::string::npos);
      EXPECT_EQ(exit_code_for(outcome.error()), exit_code::access);
    }
  }
}

TEST(connection_it, wrong_ca_fails_tls) {
  for (const char* listener_name : {"SSL", "SASL_SSL"}) {
    SCOPED_TRACE(listener_name);
    const bool sasl = std::string_view(listener_name) == "SASL_SSL";
    auto opts = base_options(sasl ? security_protocol::sasl_ssl : security_protocol::ssl);
    opts.tls.ca_location = env().str({"tls", "other_ca"});
    if (sasl) with_sasl(opts, "SCRAM-SHA-512");
    auto outcome = try_connect(listener_name, std::move(opts));
    ASSERT_FALSE(outcome);
    EXPECT_TRUE(outcome.error().is(errc::tls)) << outcome.error().message;
    EXPECT_EQ(outcome.error().message.rfind("SSL handshake failed: broker ", 0), 0u) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("certificate verify failed"), std::string::npos);
    EXPECT_EQ(exit_code_for(outcome.error()), exit_code::access);
  }
}

TEST(connection_it, mtls_rejects_expired_or_missing_client_certificate) {
  {
    auto opts = base_options(security_protocol::ssl);
    opts.tls.certificate_location = env().str({"tls", "expired_cert"});
    opts.tls.key_location = env().str({"tls", "expired_key"});
    auto outcome = try_connect("MTLS", std::move(opts));
    ASSERT_FALSE(outcome);
    EXPECT_TRUE(outcome.error().is(errc::tls)) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("SSL handshake failed"), std::string::npos) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("rejected our client certificate"), std::string::npos);
  }
  {
    // No client certificate at all: the broker's alert names the certificate; we say none is configured.
    const auto start = std::chrono::steady_clock::now();
    auto outcome = try_connect("MTLS", base_options(security_protocol::ssl));
    ASSERT_FALSE(outcome);
    EXPECT_TRUE(outcome.error().is(errc::tls)) << outcome.error().message;
    EXPECT_EQ(outcome.error().message.rfind("SSL handshake failed: broker ", 0), 0u) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("requires a client certificate (mTLS) and none is configured"),
              std::string::npos)
        << outcome.error().message;
    EXPECT_EQ(exit_code_for(outcome.error()), exit_code::access);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);  // no hang
  }
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// reliability.md §3.2: Kafka hashes the raw UTF-8 bytes of a SCRAM password (no SASLprep), and so
// do we. Create users with a non-ASCII password through Apache Kafka's own ConfigCommand, then
// authenticate with both SCRAM mechanisms.
TEST(connection_it, scram_with_non_ascii_password_matches_kafka) {
  const auto& tools = env().root.as_object().at("kafka").as_object().at("java_tools");
  ASSERT_TRUE(tools.is_array());
  std::string prefix;
  for (const auto& part : tools.as_array()) prefix += shell_quote(std::string(part.as_string())) + " ";
  const std::string password = "p\u00e4ssw\u00f6rd-\u2713-" + std::to_string(std::random_device{}() % 100000);
  for (const char* mech : {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    SCOPED_TRACE(mech);
    const std::string user = std::string("kb-net-utf8-") + (std::string_view(mech) == "SCRAM-SHA-256" ? "256" : "512");
    const std::string command =
        prefix + "kafka.admin.ConfigCommand --bootstrap-server " +
        shell_quote(env().str({"kafka", "listeners", "SASL_SSL"})) + " --command-config " +
        shell_quote(env().str({"kafka", "command_configs", "admin"})) + " --alter --add-config " +
        shell_quote(std::string(mech) + "=[iterations=8192,password=" + password + "]") +
        " --entity-type users --entity-name " + user + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << "ConfigCommand failed for " << user;
    auto opts = base_options(security_protocol::sasl_ssl);
    opts.sasl = {mech, user, secret(password)};
    // The credential propagates through the metadata log; allow a few seconds.
    result<void> outcome = fail(errc::internal, "not tried");
    for (int attempt = 0; attempt < 20; ++attempt) {
      const auto t = listener("SASL_SSL");
      boost::asio::io_context io;
      auto conn = connection::create(io.get_executor(), t.host, t.port, opts);
      outcome = run(io, conn->async_connect());
      if (outcome) break;
      std::this_thread::sleep_for(250ms);
    }
    EXPECT_TRUE(outcome) << outcome.error().message;
  }
}

TEST(connection_it, plaintext_client_on_tls_listener_fails_clearly) {
  auto outcome = try_connect("SSL", base_options(security_protocol::plaintext));
  ASSERT_FALSE(outcome);
  EXPECT_TRUE(outcome.error().is(errc::tls)) << outcome.error().message;
  EXPECT_NE(outcome.error().message.find("set security_protocol: SSL"), std::string::npos) << outcome.error().message;
  EXPECT_NE(outcome.error().message.find("broker 127.0.0.1:"), std::string::npos) << outcome.error().message;
}

}  // namespace
}  // namespace kb::net
