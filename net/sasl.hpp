// The SASL mechanism interface used by broker connections (KIP-152 SaslAuthenticate carries
// the bytes), and the factory that picks PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 by name.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "net/secret.hpp"

namespace kb::net {

class oauth_token_source;  // net/oauth_token.hpp
struct msk_iam_settings;    // net/sasl_msk_iam.hpp

/// What a mechanism wants after consuming one server message.
enum class sasl_status {
  respond,  ///< send `response` to the server and pass its reply to the next step()
  done,     ///< the exchange is complete and the server proved itself where the mechanism can
};

struct sasl_step {
  sasl_status status = sasl_status::respond;
  byte_vector response;  ///< meaningful when status == respond; may hold key-derived bytes
};

/// A client-side SASL mechanism as a sans-I/O state machine.
/// Drive it as: step({}) gives the initial response; send it; feed each server reply to
/// step() until it returns done (or an error, errc::sasl, whose message holds no secret).
/// Not thread-safe; one instance per authentication exchange (re-authentication makes a new one).
class sasl_mechanism {
 public:
  virtual ~sasl_mechanism() = default;
  sasl_mechanism() = default;
  sasl_mechanism(const sasl_mechanism&) = delete;
  sasl_mechanism& operator=(const sasl_mechanism&) = delete;

  /// The IANA/Kafka name: "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512".
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  [[nodiscard]] virtual result<sasl_step> step(byte_view challenge) = 0;
  /// After the broker failed the exchange with `broker_message`: what the mechanism makes of it
  /// and the fix, for the error message (empty when it has nothing to add). Never a secret.
  [[nodiscard]] virtual std::string failure_detail(std::string_view broker_message) const {
    (void)broker_message;
    return {};
  }
};

/// Credentials and limits for a mechanism.
struct sasl_credentials {
  std::string mechanism;  ///< PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | GSSAPI | OAUTHBEARER | AWS_MSK_IAM
  std::string username;   ///< GSSAPI: the Kerberos principal (optional; empty: the default one)
  secret password;
  // GSSAPI only (builds with -Dgssapi=enabled).
  std::string kerberos_service_name = "kafka";  ///< service part of the broker's principal
  std::string keytab_path{};                    ///< client keytab; empty: the credential cache
  std::string host{};  ///< the broker host being dialled (service/host); set by the connection
  /// OAUTHBEARER only: where the bearer token comes from. Shared by every connection made from
  /// these options (copies share it), so one cached token serves them and refreshes itself.
  std::shared_ptr<oauth_token_source> oauth_token{};
  /// AWS_MSK_IAM only: the AWS credential source and region (shared by copies, like oauth_token).
  std::shared_ptr<const msk_iam_settings> msk_iam{};
};

/// Makes the mechanism named in `creds.mechanism`; errc::unsupported for an unknown name (and
/// for GSSAPI in builds without it), errc::invalid_argument for credentials the mechanism
/// cannot carry (OAUTHBEARER without `oauth_token`); the token source's error when it has no token.
[[nodiscard]] result<std::unique_ptr<sasl_mechanism>> make_sasl_mechanism(const sasl_credentials& creds);

}  // namespace kb::net
