// The GCS JSON API's request side: one call sent with the bearer token and bounded, jittered retries (one fresh token after a 401), and the mapping of an answer to a kb::error with GCS's words and fixes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "storage/gcs/gcs_store.hpp"
#include "storage/http_transport.hpp"

namespace kb::storage::gcs {

/// What one request is, for the shared send-and-retry loop.
struct call {
  std::string method;
  std::string url;
  http_headers headers{};
  std::vector<byte_view> body{};
  std::string_view key{};  ///< for messages; empty: the bucket
  bool bucket_level = false;  ///< a 404 means the bucket is missing
  bool accept_308 = false;    ///< a resumable chunk: 308 is progress
  byte_vector* download = nullptr;  ///< a 2xx body lands here
};

/// The message of a JSON API error body {"error": {"code", "message", "errors": [{"reason"}]}}.
struct api_error {
  std::string message;
  std::string reason;
};

/// Reads an error body; one that is not JSON gives its first 200 characters as the message.
api_error parse_api_error(std::string_view body);

/// Sends calls for one bucket; owns the options (endpoint without a trailing '/', `http` set).
class gcs_api {
 public:
  explicit gcs_api(gcs_options options);

  [[nodiscard]] const gcs_options& options() const noexcept { return options_; }

  /// "gs://bucket/prefix", for messages.
  [[nodiscard]] std::string describe() const;
  /// "'key' in gs://bucket/prefix", or the bucket alone for an empty key.
  [[nodiscard]] std::string object_text(std::string_view key) const;

  /// Sends with the bearer token and bounded, jittered retries; one fresh token after a 401.
  result<http_response_data> execute(const call& c);

  /// The error an unaccepted answer (or a transport failure) to `c` stands for.
  [[nodiscard]] kb::error to_error(const http_response_data& r, const call& c) const;

  /// One request without token or retries (cancelling a resumable session, whose URL is its credential).
  http_response_data send_plain(const http_request& req) const { return options_.http(req); }

 private:
  gcs_options options_;
};

}  // namespace kb::storage::gcs
