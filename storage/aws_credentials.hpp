// The AWS credential provider chain (config keys → environment → shared files with
// credential_process and role_arn → web identity (STS) → container endpoint → EC2 IMDSv2),
// refreshed before expiry, thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "storage/sigv4.hpp"

namespace kb::storage {

/// Looks a variable up; std::nullopt when unset. Injected so tests need no real environment.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;
using wall_clock = std::function<std::chrono::system_clock::time_point()>;

/// Credentials and, for temporary ones, when they stop working.
struct timed_credentials {
  aws_credentials credentials;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

/// One HTTP exchange with an identity endpoint (container, IMDS). Injected for tests.
struct http_exchange {
  std::string method;  ///< "GET", "PUT" or "POST"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< sent with POST (STS forms carry a web identity token: never log it)
};
struct http_reply {
  long status = 0;
  std::string body;
  std::string transport_error;  ///< non-empty: no HTTP answer at all (connect, timeout)
};
using http_client = std::function<http_reply(const http_exchange&)>;

/// libcurl, one attempt, `timeout` for the whole exchange.
http_client curl_http_client(std::chrono::milliseconds timeout);

/// Where credentials may come from; `source` pins one ("auto" tries them in the SDK order).
struct credential_settings {
  std::string source = "auto";  ///< auto|static|env|profile|web_identity|container|imds
  std::string access_key;
  secret_string secret_key;
  secret_string session_token;
  std::string imds_endpoint;  ///< empty: AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254
  bool imds_v1 = false;       ///< fall back to IMDSv1 (no session token) when the token PUT is refused
  std::string sts_endpoint;   ///< empty: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, or regional STS
  std::string region;         ///< for STS (signing and the regional endpoint); empty: us-east-1
  /// What the credentials are for, in messages ("s3"; "kafka AWS_MSK_IAM" has no static keys).
  std::string user = "s3";
};

/// The sources `credential_settings::source` accepts.
inline constexpr std::string_view credential_source_names =
    "auto, static, env, profile, web_identity, container, imds";

// ---- parsing (pure; unit-tested) ----

/// An INI file as the AWS shared files write it: section → key → value (keys lower-cased,
/// values trimmed; '#' and ';' start comments).
using ini_sections = std::map<std::string, std::map<std::string, std::string>>;
ini_sections parse_ini(std::string_view text);

/// "2026-12-06T19:40:00Z" (fractions and "+00:00" accepted).
result<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

/// The JSON that credential_process, the container endpoint and IMDS return: AccessKeyId,
/// SecretAccessKey, Token or SessionToken, Expiration; IMDS's "Code" must be "Success".
/// `what` names the source in errors; errors never contain a secret.
result<timed_credentials> parse_credentials_json(std::string_view json, std::string_view what);

/// When credentials fetched at `fetched` that expire at `expiration` are refreshed: 5 minutes
/// before expiry, or halfway for ones that live less than 10 minutes.
std::chrono::system_clock::time_point refresh_time(std::chrono::system_clock::time_point fetched,
                                                   std::chrono::system_clock::time_point expiration);

// ---- the provider ----

/// An access key id as messages show it: its last four characters only ("****WXYZ"), enough to
/// tell keys apart without handing the whole id to whoever reads the logs.
[[nodiscard]] std::string masked_key_id(std::string_view id);

/// Hands out the current credentials of one source; refreshes temporary ones before they
/// expire. Safe to call from the S3 store's parallel part uploads.
class credential_provider {
 public:
  using fetch_fn = std::function<result<timed_credentials>()>;
  credential_provider(std::string source, fetch_fn fetch, timed_credentials first, wall_clock clock);

  /// The credentials to sign with now; a failed refresh keeps the old ones while they last.
  result<aws_credentials> current();
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  /// The access key id held now, masked (masked_key_id) for messages; never refreshes.
  std::string access_key_id();

 private:
  std::string source_;
  fetch_fn fetch_;
  wall_clock clock_;
  std::mutex mutex_;
  timed_credentials held_;
  std::optional<std::chrono::system_clock::time_point> refresh_at_;
};

/// Walks the chain (or the pinned source), fetches the first credentials and returns their
/// provider. errc::config when no source is configured (or `source` is unknown);
/// errc::authorization when a configured source failed. The message lists every source tried
/// and why it did not give credentials; it never contains a secret.
result<std::shared_ptr<credential_provider>> resolve_credentials(const credential_settings& settings,
                                                                 const env_lookup& env,
                                                                 http_client http = {},
                                                                 wall_clock clock = {});

}  // namespace kb::storage
