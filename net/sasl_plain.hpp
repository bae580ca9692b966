// SASL PLAIN client (RFC 4616): one message "authzid NUL authcid NUL passwd" with an empty
// authzid, as Kafka expects. Only safe over TLS; the connection warns otherwise.
#pragma once

#include <string>

#include "net/sasl.hpp"

namespace kb::net {

class sasl_plain final : public sasl_mechanism {
 public:
  /// Fails with errc::invalid_argument when user or password contains NUL or user is empty.
  [[nodiscard]] static result<std::unique_ptr<sasl_plain>> create(std::string username, secret password);

  [[nodiscard]] std::string_view name() const noexcept override { return "PLAIN"; }
  /// First call (any challenge, normally empty): the PLAIN message. Second call: done.
  [[nodiscard]] result<sasl_step> step(byte_view challenge) override;

 private:
  sasl_plain(std::string username, secret password)
      : username_(std::move(username)), password_(std::move(password)) {}
  std::string username_;
  secret password_;
  bool sent_ = false;
};

}  // namespace kb::net
