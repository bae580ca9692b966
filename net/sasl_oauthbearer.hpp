// SASL OAUTHBEARER client (RFC 7628 as Kafka uses it, KIP-255): one client message carrying the
// bearer token; a server error challenge is answered with the single 0x01 byte RFC 7628 asks
// for, and the broker's SaslAuthenticate error then says why.
#pragma once

#include <memory>
#include <string>

#include "net/sasl.hpp"

namespace kb::net {

class sasl_oauthbearer final : public sasl_mechanism {
 public:
  /// errc::invalid_argument for an empty token or one with characters a bearer token cannot hold.
  [[nodiscard]] static result<std::unique_ptr<sasl_oauthbearer>> create(secret token);

  [[nodiscard]] std::string_view name() const noexcept override { return "OAUTHBEARER"; }
  /// First call: "n,,\x01auth=Bearer TOKEN\x01\x01". Then: an empty challenge completes; a
  /// non-empty one (the server's JSON error) is answered with "\x01".
  [[nodiscard]] result<sasl_step> step(byte_view challenge) override;
  /// After the token was sent: the RFC 7628 status ("invalid_token") of the server's error
  /// challenge, or of the broker's message (Kafka puts the JSON there), and where to look.
  [[nodiscard]] std::string failure_detail(std::string_view broker_message) const override;

 private:
  explicit sasl_oauthbearer(secret token) : token_(std::move(token)) {}
  secret token_;
  int round_ = 0;
  std::string server_status_;  ///< the error challenge's "status"; empty: none came
};

}  // namespace kb::net
