// Unit: the wrong-listener hints name the listener type and exactly what to set.
#include "net/listener_probe.hpp"

#include <gtest/gtest.h>

namespace kb::net {
namespace {

bool has(const std::string& text, std::string_view phrase) { return text.find(phrase) != std::string::npos; }

TEST(listener_probe, hint_names_listener_mechanisms_and_missing_settings) {
  const auto h = wrong_listener_hint(security_protocol::plaintext,
                                     listener_kind{security_protocol::sasl_ssl, {"PLAIN", "SCRAM-SHA-512"}, false});
  EXPECT_TRUE(has(h, "the port is a SASL_SSL listener (SASL mechanisms: PLAIN, SCRAM-SHA-512)")) << h;
  EXPECT_TRUE(has(h, "set security_protocol: SASL_SSL with sasl_mechanism, sasl_username, sasl_password and "
                     "ssl_ca_location")) << h;
  EXPECT_TRUE(has(h, "the broker's PLAINTEXT listener (this client uses PLAINTEXT)")) << h;
}

TEST(listener_probe, hint_for_an_mtls_listener_asks_for_the_client_certificate) {
  const auto h = wrong_listener_hint(security_protocol::plaintext, listener_kind{security_protocol::ssl, {}, true});
  EXPECT_TRUE(has(h, "the port is an SSL listener that requires a client certificate (mTLS)")) << h;
  EXPECT_TRUE(has(h, "set security_protocol: SSL with ssl_ca_location, ssl_certificate_location and ssl_key_location"))
      << h;
}

TEST(listener_probe, probable_hints_keep_the_sasl_side_of_the_client) {
  EXPECT_TRUE(has(probable_listener_hint(security_protocol::sasl_plaintext, listener_symptom::tls_record_on_plaintext),
                  "set security_protocol: SASL_SSL with ssl_ca_location"));
  EXPECT_TRUE(has(probable_listener_hint(security_protocol::ssl, listener_symptom::closed_on_client_hello),
                  "set security_protocol: PLAINTEXT"));
  EXPECT_TRUE(has(probable_listener_hint(security_protocol::ssl, listener_symptom::closed_before_sasl),
                  "the port is probably a SASL_SSL listener"));
  EXPECT_TRUE(has(probable_listener_hint(security_protocol::sasl_ssl, listener_symptom::sasl_not_enabled),
                  "the port is an SSL listener; set security_protocol: SSL,"));
}

}  // namespace
}  // namespace kb::net
