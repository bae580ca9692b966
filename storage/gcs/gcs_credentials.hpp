// Where the GCS backend gets its bearer tokens, in the order Google's Application Default
// Credentials use: a service-account key file (storage.service_account_path, else
// GOOGLE_APPLICATION_CREDENTIALS, else gcloud's well-known file), then the metadata server (GCE,
// GKE workload identity); none at all with STORAGE_EMULATOR_HOST. Tokens are refreshed before expiry.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "storage/aws_credentials.hpp"
#include "storage/gcs/gcs_jwt.hpp"
#include "storage/http_transport.hpp"

namespace kb::storage::gcs {

struct auth_settings {
  std::string service_account_path;  ///< storage.service_account_path; empty: the ADC order
  std::string metadata_endpoint;     ///< storage.metadata_endpoint; empty: GCE_METADATA_HOST or 169.254.169.254
  bool anonymous = false;            ///< no token at all (an emulator)
  http_send_fn http;                 ///< empty: an http_transport
  wall_clock clock;                  ///< empty: the system clock
};

/// Hands out the current bearer token of one source; thread-safe.
class token_provider {
 public:
  using fetch_fn = std::function<result<access_token>()>;
  /// `fetch` empty: anonymous (no Authorization header).
  token_provider(std::string source, fetch_fn fetch, access_token first, wall_clock clock);

  /// "Bearer …", or nullopt when anonymous. Refreshes a token near its expiry; a failed refresh
  /// keeps the old token while it lasts.
  result<std::optional<std::string>> authorization();
  /// After the server refused the token (401): the next call fetches a new one.
  void invalidate();
  /// "service account key /k.json (storage.service_account_path)", "metadata server http://…".
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

 private:
  std::string source_;
  fetch_fn fetch_;
  wall_clock clock_;
  std::mutex mutex_;
  access_token held_;
  std::optional<std::chrono::system_clock::time_point> refresh_at_;
  bool invalid_ = false;
};

/// Picks the source, fetches the first token and returns the provider. errc::config for an
/// unreadable or wrong key file; errc::authorization when a token endpoint refused;
/// errc::connect when none answered. Messages name the source and the fix, never a secret.
result<std::shared_ptr<token_provider>> resolve_credentials(const auth_settings& settings, const env_lookup& env);

}  // namespace kb::storage::gcs
