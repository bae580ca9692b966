// OAuth 2 access tokens for SASL/OAUTHBEARER (KIP-768): the client-credentials grant at a token
// endpoint, or a token file another process keeps fresh; cached and fetched again before they
// expire (at 80% of their life, Kafka's sasl.login.refresh.window.factor). Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "net/secret.hpp"

namespace kb::net {

struct oauth_settings {
  std::string token_endpoint_url;  ///< client credentials: POST grant_type=client_credentials here
  std::string client_id;
  secret client_secret;
  std::string scope;               ///< optional
  std::string token_file;          ///< instead of the endpoint: a file holding the token (re-read)
  std::string ca_file;             ///< extra trust anchors for an https token endpoint
};

struct oauth_token {
  secret value;
  std::optional<std::chrono::system_clock::time_point> expires;
};

/// One POST to the token endpoint: url, form body, Authorization header value → status and body.
struct http_post_reply {
  long status = 0;
  std::string body;
  std::string transport_error;  ///< non-empty: no HTTP answer at all
};
using http_post_fn = std::function<http_post_reply(const std::string& url, const std::string& form,
                                                   const std::string& authorization)>;

/// libcurl with a 10 s deadline; `ca_file` adds trust anchors for https.
http_post_fn curl_http_post(std::string ca_file);

/// "grant_type=client_credentials" (+ "&scope=…", form-encoded).
std::string client_credentials_form(std::string_view scope);
/// "Basic " + base64(urlencode(id) ":" urlencode(secret)), as Kafka's HttpAccessTokenRetriever sends it.
std::string client_basic_auth(std::string_view client_id, const secret& client_secret);
/// The token of a token endpoint's JSON answer (access_token, expires_in); errors name `what`,
/// never the token.
result<oauth_token> parse_token_response(const http_post_reply& reply, std::string_view what,
                                         std::chrono::system_clock::time_point now);
/// The `exp` claim of a JWT (seconds since the epoch), when the token is one.
std::optional<std::chrono::system_clock::time_point> jwt_expiry(std::string_view token);

/// Hands out the current token; fetches a new one when none is held or 80% of its life passed.
class oauth_token_source {
 public:
  using fetch_fn = std::function<result<oauth_token>()>;
  using clock_fn = std::function<std::chrono::system_clock::time_point()>;
  oauth_token_source(std::string what, fetch_fn fetch, clock_fn clock = {});

  result<secret> current();
  [[nodiscard]] const std::string& what() const noexcept { return what_; }

 private:
  std::string what_;
  fetch_fn fetch_;
  clock_fn clock_;
  std::mutex mutex_;
  std::optional<oauth_token> held_;
  std::optional<std::chrono::system_clock::time_point> refresh_at_;
};

/// The token source `settings` describe: the token file when set, else the client-credentials
/// grant. errc::config when neither (or only part of the client credentials) is given.
result<std::shared_ptr<oauth_token_source>> make_oauth_token_source(const oauth_settings& settings,
                                                                    http_post_fn post = {});

}  // namespace kb::net
