// The Azure Blob request side: authenticated requests (SharedKey, SAS, bearer) sent with bounded,
// jittered retries, and the mapping of failed answers (status, XML error body) to kb::error.
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"
#include "storage/azure/blob_store.hpp"
#include "storage/byte_pieces.hpp"
#include "storage/http_transport.hpp"

namespace kb::storage::azure {

/// Thread-safe: requests may be sent from several threads (blocks in parallel).
class blob_api {
 public:
  /// Normalises the options: the endpoint's origin and path split, a leading '?' of the SAS
  /// token dropped, the system clock when none is given.
  explicit blob_api(blob_options options);

  [[nodiscard]] const blob_options& options() const noexcept { return options_; }
  /// "azure://ACCOUNT/CONTAINER/PREFIX", for messages.
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] std::string container_path() const;
  [[nodiscard]] std::string blob_path(std::string_view key) const;

  /// Authenticates and sends with bounded, jittered retries; the body's pieces go back to back,
  /// a 2xx answer's body lands in `download` when given. `key` is for messages only.
  result<http_response_data> execute(const std::string& method, std::string_view key, const std::string& path,
                                     http_headers query, const http_headers& headers, byte_pieces body,
                                     byte_vector* download = nullptr);

  /// The error a failed answer stands for, with the fix in the service's and our words.
  [[nodiscard]] kb::error to_error(const http_response_data& r, std::string_view method, std::string_view key) const;

 private:
  [[nodiscard]] std::string auth_hint(const std::string& code) const;

  blob_options options_;
  http_transport transport_;
  std::string origin_;         ///< "scheme://host[:port]" of the endpoint
  std::string endpoint_path_;  ///< Azurite's "/ACCOUNT"; empty for Azure
};

}  // namespace kb::storage::azure
