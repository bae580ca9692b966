// SASL AWS_MSK_IAM client (Amazon MSK's IAM access control, as AWS's aws-msk-iam-auth library
// speaks it): one JSON message holding a SigV4 presigned "kafka-cluster:Connect" request for the
// broker's host, and the broker's JSON answer. Credentials come from an injected provider (cli/
// wires the storage/ AWS credential chain in; net/ does not depend on storage/).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/sasl.hpp"

namespace kb::net {

/// Fetches (or returns cached) credentials; its error names the sources tried, never a secret.
/// Called once per authentication (and re-authentication), from any thread.
/// AWS credentials for one signature; the session token is empty for long-term keys.
struct msk_iam_credentials {
  std::string access_key_id;
  secret secret_access_key;
  secret session_token;
};

using msk_iam_credential_provider = std::function<result<msk_iam_credentials>()>;

/// What `sasl_credentials::msk_iam` carries.
struct msk_iam_settings {
  msk_iam_credential_provider credentials;
  std::string region;          ///< empty: the one in the MSK host name, else `default_region`
  std::string default_region;  ///< AWS_REGION / AWS_DEFAULT_REGION / the AWS config file
  std::string user_agent = "kafka-backup";
};

/// What the payload signs.
struct msk_iam_request {
  std::string host;        ///< the broker host as dialled, without port
  std::string region;      ///< e.g. "us-east-1"
  std::string user_agent;  ///< free text for the broker's logs
  std::chrono::system_clock::time_point now;
};

/// The region in an MSK broker host name ("b-1.c.x.c2.kafka.eu-west-1.amazonaws.com" →
/// "eu-west-1"); empty when the host has none (a private DNS name, an IP address).
[[nodiscard]] std::string msk_iam_region_from_host(std::string_view host);

/// The client payload: the aws-msk-iam-auth JSON (version 2020_10_22) with the presigned query
/// of GET https://HOST/?Action=kafka-cluster%3AConnect, expiring after 900 s. Pure; keys appear
/// in the order AWS's library writes them, so the bytes equal its output for the same inputs.
[[nodiscard]] std::string msk_iam_payload(const msk_iam_request& request, const msk_iam_credentials& credentials);

class sasl_msk_iam final : public sasl_mechanism {
 public:
  /// errc::invalid_argument for an empty host, region or access key id.
  [[nodiscard]] static result<std::unique_ptr<sasl_msk_iam>> create(msk_iam_request request,
                                                                     msk_iam_credentials credentials);

  [[nodiscard]] std::string_view name() const noexcept override { return "AWS_MSK_IAM"; }
  /// First call: the payload. Then: the broker's JSON ({"version":"2020_10_22","request-id":...})
  /// completes the exchange; an empty or malformed answer, or another version, is errc::sasl.
  [[nodiscard]] result<sasl_step> step(byte_view challenge) override;
  [[nodiscard]] std::string failure_detail(std::string_view broker_message) const override;

 private:
  sasl_msk_iam(msk_iam_request request, msk_iam_credentials credentials)
      : request_(std::move(request)), credentials_(std::move(credentials)) {}
  msk_iam_request request_;
  msk_iam_credentials credentials_;
  int round_ = 0;
};

}  // namespace kb::net
