// gs:// and gcs:// storage URLs and opening a GCS store from a location: the endpoint
// (storage.endpoint, else STORAGE_EMULATOR_HOST as Google's client libraries read it, else Google's)
// and the credentials (none with an emulator).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "storage/location.hpp"

namespace kb::storage::gcs {

/// `url` is `gs://bucket/prefix?endpoint=http://h:p` (or gcs://); `scheme` is "gs" or "gcs".
result<location> parse_gcs_url(std::string_view scheme, std::string_view url);

/// "gs://bucket/prefix/" (+ "?endpoint=…").
std::string gcs_url(const location& where);

/// Google's bucket naming rules (3-63 characters, or up to 222 with dots; lower-case letters,
/// digits, '-', '_', '.'; a letter or digit at both ends).
bool valid_bucket_name(std::string_view bucket) noexcept;

/// The endpoint a location uses: its own, else STORAGE_EMULATOR_HOST ("host:port" gets http://),
/// else https://storage.googleapis.com. `emulator` tells whether the variable decided it.
struct resolved_endpoint {
  std::string url;
  bool emulator = false;
};
result<resolved_endpoint> resolve_endpoint(const location& where, const env_lookup& env);

/// Resolves endpoint and credentials and creates the store (no request to the bucket yet).
result<std::unique_ptr<object_store>> open_gcs_store(const location& where, const store_settings& settings,
                                                     const env_lookup& env);

}  // namespace kb::storage::gcs
