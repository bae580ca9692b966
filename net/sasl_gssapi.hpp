// SASL GSSAPI (Kerberos V5, RFC 4752) client on Cyrus SASL and MIT GSS-API, as Kafka speaks it
// over SaslAuthenticate. Built only with -Dgssapi=enabled (KB_HAVE_GSSAPI).
#pragma once

#include <memory>
#include <string>

#include "net/sasl.hpp"

namespace kb::net {

struct gssapi_options {
  std::string service_name = "kafka";  ///< the broker's principal is service_name/host
  std::string host;                    ///< the broker host as dialled (not canonicalised here)
  std::string principal;               ///< client principal; empty: the keytab's or cache's default
  std::string keytab_path;             ///< client keytab; empty: the default credential cache
};

/// One GSSAPI exchange: the Kerberos AP-REQ, the server's AP-REP, then the RFC 4752 security
/// layer negotiation, in which we ask for no layer (Kafka's SASL_PLAINTEXT/SASL_SSL carry the
/// bytes unwrapped). Credentials come from `keytab_path` (obtained into a private in-memory
/// cache, so the user's cache is left alone) or from the default credential cache (kinit,
/// $KRB5CCNAME). Errors are errc::sasl with the GSS-API reason (no secret in them).
class sasl_gssapi final : public sasl_mechanism {
 public:
  [[nodiscard]] static result<std::unique_ptr<sasl_gssapi>> create(gssapi_options opts);
  ~sasl_gssapi() override;

  [[nodiscard]] std::string_view name() const noexcept override { return "GSSAPI"; }
  /// First call: the initial token. Then each server token in turn; done after the server's
  /// reply to our security-layer message.
  [[nodiscard]] result<sasl_step> step(byte_view challenge) override;

 private:
  struct impl;
  explicit sasl_gssapi(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace kb::net
