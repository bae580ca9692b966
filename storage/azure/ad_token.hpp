// Azure AD (Microsoft Entra ID) access tokens for the Blob service: client secret, workload
// identity (federated token file, the AKS convention) and managed identity (IMDS), chosen in
// DefaultAzureCredential's order when not pinned, cached and refreshed before expiry.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "storage/aws_credentials.hpp"
#include "storage/http_transport.hpp"
#include "storage/sigv4.hpp"

namespace kb::storage::azure {

/// One exchange with a token endpoint. Injected so unit tests need no server.
struct token_request {
  std::string method;  ///< "GET" (IMDS) or "POST" (the authority's token endpoint)
  std::string url;
  http_headers headers;
  std::string body;    ///< application/x-www-form-urlencoded for POST
};
using token_http = std::function<http_response_data(const token_request&)>;

/// libcurl through `transport`.
token_http transport_token_http(const std::shared_ptr<http_transport>& transport);

/// Which Azure AD source to use and its settings. Empty fields come from the environment
/// (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE,
/// AZURE_AUTHORITY_HOST, AZURE_IMDS_ENDPOINT).
struct ad_settings {
  std::string source = "auto";    ///< auto | client_secret | workload_identity | managed_identity
  std::string tenant_id;
  std::string client_id;
  secret_string client_secret;
  std::string federated_token_file;
  std::string authority_host;     ///< default https://login.microsoftonline.com
  std::string imds_endpoint;      ///< default http://169.254.169.254
  std::string scope = "https://storage.azure.com/.default";
};

inline constexpr std::string_view ad_source_names = "auto, client_secret, workload_identity, managed_identity";

struct access_token {
  secret_string token;
  std::chrono::system_clock::time_point expires;
};

/// The token endpoint's JSON: access_token plus expires_in (seconds) or expires_on (epoch
/// seconds, IMDS). `what` names the source in errors; errors never show the token.
result<access_token> parse_token_json(std::string_view json, std::chrono::system_clock::time_point now,
                                      std::string_view what);

/// Hands out a valid bearer token; refreshes it before it expires (a failed refresh keeps the
/// old token while it lasts). Thread-safe.
class token_provider {
 public:
  using fetch_fn = std::function<result<access_token>()>;
  token_provider(std::string source, fetch_fn fetch, access_token first, wall_clock clock);

  result<std::string> current();
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

 private:
  std::string source_;
  fetch_fn fetch_;
  wall_clock clock_;
  std::mutex mutex_;
  access_token held_;
  std::chrono::system_clock::time_point refresh_at_;
};

/// Picks the source (pinned, or the first configured one in the order client secret →
/// workload identity → managed identity), fetches the first token and returns the provider.
/// errc::config when nothing is configured or a pinned source lacks a setting; errc::authorization
/// when the token endpoint refused. Messages name the sources tried and the fix, never a secret.
result<std::shared_ptr<token_provider>> resolve_ad_token(const ad_settings& settings, const env_lookup& env,
                                                         const token_http& http, wall_clock clock = {});

}  // namespace kb::storage::azure
