// AWS STS for the credential chain: AssumeRoleWithWebIdentity (EKS IRSA, unsigned) and
// AssumeRole (shared-config role_arn + source_profile, SigV4-signed), request building and
// response parsing as pure functions, the two calls over an http_client, plus the endpoint
// choice (config, AWS_ENDPOINT_URL_STS).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "storage/aws_credentials.hpp"

namespace kb::storage {

/// The STS endpoint: `configured` (storage.sts_endpoint), else AWS_ENDPOINT_URL_STS, else
/// AWS_ENDPOINT_URL, else the regional https://sts.<region>.amazonaws.com.
std::string sts_endpoint(std::string_view configured, std::string_view region, const env_lookup& env);

/// The form-encoded POST of AssumeRoleWithWebIdentity. Sent unsigned: the token is the proof.
http_exchange sts_web_identity_request(std::string_view endpoint, std::string_view role_arn,
                                       std::string_view session_name, const secret_string& token);

/// The form-encoded POST of AssumeRole, SigV4-signed (service "sts") with `source` at `now`.
http_exchange sts_assume_role_request(std::string_view endpoint, std::string_view region, std::string_view role_arn,
                                      std::string_view session_name, const aws_credentials& source,
                                      std::chrono::system_clock::time_point now);

/// The credentials in an STS answer (…Result/Credentials), or the STS error (Code: Message)
/// as errc::authorization. `what` names the call in messages; no secret is ever in them.
result<timed_credentials> parse_sts_response(long status, std::string_view body, std::string_view what);

/// AssumeRoleWithWebIdentity at `endpoint` with `token` (read fresh by the caller: EKS rotates it).
result<timed_credentials> sts_assume_role_with_web_identity(const std::string& endpoint, const std::string& role_arn,
                                                            const std::string& session_name,
                                                            const secret_string& token, const http_client& http);

/// AssumeRole at `endpoint`, signed with `source` (a profile's source_profile credentials).
result<timed_credentials> sts_assume_role(const std::string& endpoint, const std::string& region,
                                          const std::string& role_arn, const aws_credentials& source,
                                          const std::string& session_name, const http_client& http);

/// application/x-www-form-urlencoded value encoding (RFC 3986 unreserved kept).
std::string form_encode(std::string_view text);

}  // namespace kb::storage
