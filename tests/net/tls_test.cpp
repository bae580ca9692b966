#include "net/tls.hpp"

#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "tests/net/test_certs.hpp"

namespace kb::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using testing::test_key_password;
using testing::test_pki;

const test_pki& pki() {
  const auto& p = test_pki::get();
  EXPECT_TRUE(p.ok) << "openssl CLI failed; see " << p.dir << "/log.txt";
  return p;
}

tls_options client_opts(std::string key_file, std::optional<std::string> password = std::nullopt) {
  tls_options opts;
  opts.ca_location = pki().path("ca.crt");
  opts.certificate_location = pki().path("client.crt");
  opts.key_location = pki().path(key_file.c_str());
  if (password) opts.key_password = secret(*password);
  return opts;
}

TEST(tls_context, system_trust_store_by_default) {
  auto ctx = make_tls_context({});
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*ctx)->native_handle()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode((*ctx)->native_handle()) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
}

TEST(tls_context, loads_plain_keys_pkcs8_and_pkcs1) {
  for (const char* key : {"client_pkcs8.key", "client_pkcs1.key"}) {
    auto ctx = make_tls_context(client_opts(key));
    ASSERT_TRUE(ctx) << key << ": " << ctx.error().message;
    EXPECT_NE(SSL_CTX_get0_certificate((*ctx)->native_handle()), nullptr);
    EXPECT_NE(SSL_CTX_get0_privatekey((*ctx)->native_handle()), nullptr);
  }
}

TEST(tls_context, encrypted_keys_with_right_and_wrong_password) {
  for (const char* key : {"client_pkcs8_enc.key", "client_pkcs1_enc.key"}) {
    auto right = make_tls_context(client_opts(key, test_key_password));
    ASSERT_TRUE(right) << key << ": " << right.error().message;

    auto wrong = make_tls_context(client_opts(key, "Wrong-Pass-123"));
    ASSERT_FALSE(wrong) << key;
    EXPECT_TRUE(wrong.error().is(errc::tls));
    EXPECT_NE(wrong.error().message.find("wrong ssl_key_password"), std::string::npos) << wrong.error().message;
    EXPECT_EQ(wrong.error().message.find("Wrong-Pass-123"), std::string::npos);
    EXPECT_EQ(wrong.error().message.find(test_key_password), std::string::npos);

    auto missing = make_tls_context(client_opts(key));
    ASSERT_FALSE(missing);
    EXPECT_TRUE(missing.error().is(errc::config));
    EXPECT_NE(missing.error().message.find("ssl_key_password is not set"), std::string::npos);
  }
}

TEST(tls_context, key_not_matching_certificate) {
  auto ctx = make_tls_context(client_opts("unrelated.key"));
  ASSERT_FALSE(ctx);
  EXPECT_TRUE(ctx.error().is(errc::tls));
  EXPECT_NE(ctx.error().message.find("does not match the certificate"), std::string::npos) << ctx.error().message;
}

TEST(tls_context, bad_files_are_named) {
  tls_options missing_ca;
  missing_ca.ca_location = pki().path("no-such-ca.crt");
  auto a = make_tls_context(missing_ca);
  ASSERT_FALSE(a);
  EXPECT_TRUE(a.error().is(errc::config));
  EXPECT_NE(a.error().message.find("ssl_ca_location"), std::string::npos);
  EXPECT_NE(a.error().message.find("does not exist"), std::string::npos);

  tls_options garbage_ca;
  garbage_ca.ca_location = pki().path("garbage.pem");
  auto b = make_tls_context(garbage_ca);
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().is(errc::tls));
  EXPECT_NE(b.error().message.find("holds no PEM CA certificate"), std::string::npos) << b.error().message;

  auto garbage_key = make_tls_context(client_opts("garbage.pem"));
  ASSERT_FALSE(garbage_key);
  EXPECT_NE(garbage_key.error().message.find("holds no PEM private key"), std::string::npos);

  tls_options cert_only;
  cert_only.certificate_location = pki().path("client.crt");
  auto c = make_tls_context(cert_only);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().is(errc::config));
  EXPECT_NE(c.error().message.find("ssl_key_location is not"), std::string::npos);
}

// A one-connection TLS server on 127.0.0.1 in its own thread. It writes one byte after its
// handshake and records the SNI name it saw.
class tls_server {
 public:
  tls_server(const char* cert, const char* key, bool require_client_cert)
      : ctx_(asio::ssl::context::tls_server), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain_file(pki().path(cert));
    ctx_.use_private_key_file(pki().path(key), asio::ssl::context::pem);
    if (require_client_cert) {
      ctx_.load_verify_file(pki().path("ca.crt"));
      ctx_.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      asio::ssl::stream<tcp::socket> stream(io_, ctx_);
      acceptor_.accept(stream.next_layer(), ec);
      if (ec) return;
      stream.handshake(asio::ssl::stream_base::server, ec);
      const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
      sni_ = sni != nullptr ? sni : "";
      if (!ec) asio::write(stream, asio::buffer("x", 1), ec);
      stream.next_layer().close(ec);
    });
  }
  ~tls_server() { thread_.join(); }
  tls_server(const tls_server&) = delete;
  tls_server& operator=(const tls_server&) = delete;
  [[nodiscard]] unsigned short port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] std::string sni() const { return sni_; }

 private:
  asio::io_context io_;
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::string sni_;
  std::thread thread_;
};

struct client_outcome {
  boost::system::error_code ec;  ///< first error: handshake or first read
  std::string text;              ///< tls_failure_text when ec is set
};

client_outcome connect_client(const tls_options& opts, const std::string& host, unsigned short port) {
  client_outcome out;
  auto ctx = make_tls_context(opts);
  EXPECT_TRUE(ctx);
  if (!ctx) return out;
  asio::io_context io;
  asio::ssl::stream<tcp::socket> stream(io, **ctx);
  stream.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  EXPECT_TRUE(prepare_tls_stream(stream.native_handle(), host, opts.endpoint_identification));
  stream.handshake(asio::ssl::stream_base::client, out.ec);
  if (!out.ec) {
    char byte = 0;
    asio::read(stream, asio::buffer(&byte, 1), out.ec);
  }
  if (out.ec) out.text = tls_failure_text(host + ":" + std::to_string(port), out.ec, stream.native_handle());
  return out;
}

TEST(tls_handshake, verifies_chain_and_ip_address) {
  tls_server server("server.crt", "server.key", false);
  tls_options opts;
  opts.ca_location = pki().path("ca.crt");
  const auto out = connect_client(opts, "127.0.0.1", server.port());
  EXPECT_FALSE(out.ec) << out.text;
  EXPECT_EQ(server.sni(), "");  // no SNI for IP literals
}

TEST(tls_handshake, sends_sni_for_dns_names) {
  tls_server server("server.crt", "server.key", false);
  tls_options opts;
  opts.ca_location = pki().path("ca.crt");
  const auto out = connect_client(opts, "localhost", server.port());
  EXPECT_FALSE(out.ec) << out.text;
  EXPECT_EQ(server.sni(), "localhost");
}

TEST(tls_handshake, wrong_ca_fails_with_clear_text) {
  tls_server server("server.crt", "server.key", false);
  tls_options opts;
  opts.ca_location = pki().path("other_ca.crt");
  const auto out = connect_client(opts, "127.0.0.1", server.port());
  ASSERT_TRUE(out.ec);
  EXPECT_TRUE(is_tls_error(out.ec));
  EXPECT_EQ(out.text, "SSL handshake failed: broker 127.0.0.1:" + std::to_string(server.port()) +
                          ": certificate verify failed: unable to get local issuer certificate \u2014 check "
                          "ssl_ca_location, certificate expiry and the broker hostname");
}

TEST(tls_handshake, name_mismatch_fails_unless_identification_is_off) {
  {
    tls_server server("named.crt", "named.key", false);
    tls_options opts;
    opts.ca_location = pki().path("ca.crt");
    const auto out = connect_client(opts, "127.0.0.1", server.port());
    ASSERT_TRUE(out.ec);
    EXPECT_NE(out.text.find("certificate verify failed: IP address mismatch"), std::string::npos) << out.text;
  }
  {
    tls_server server("server.crt", "server.key", false);
    tls_options opts;
    opts.ca_location = pki().path("ca.crt");
    // Connect by IP but expect a DNS name the certificate lacks.
    const auto out = connect_client(opts, "broker.example", server.port());
    ASSERT_TRUE(out.ec);
    EXPECT_NE(out.text.find("certificate verify failed: hostname mismatch"), std::string::npos) << out.text;
  }
  {
    tls_server server("named.crt", "named.key", false);
    tls_options opts;
    opts.ca_location = pki().path("ca.crt");
    opts.endpoint_identification = false;
    const auto out = connect_client(opts, "127.0.0.1", server.port());
    EXPECT_FALSE(out.ec) << out.text;
  }
}

TEST(tls_handshake, mutual_tls_requires_client_certificate) {
  {
    tls_server server("server.crt", "server.key", true);
    const auto out = connect_client(client_opts("client_pkcs8_enc.key", test_key_password), "127.0.0.1", server.port());
    EXPECT_FALSE(out.ec) << out.text;
  }
  {
    tls_server server("server.crt", "server.key", true);
    tls_options opts;
    opts.ca_location = pki().path("ca.crt");
    const auto out = connect_client(opts, "127.0.0.1", server.port());
    ASSERT_TRUE(out.ec);
    EXPECT_TRUE(is_tls_error(out.ec)) << out.ec.message();
    EXPECT_EQ(out.text.rfind("SSL handshake failed: broker 127.0.0.1:", 0), 0u) << out.text;
  }
}

}  // namespace
}  // namespace kb::net
