// One storage request with retries, shared by the S3, Azure Blob and GCS backends: each attempt
// is built (signed) and sent by the caller's hook; transient failures are retried under
// storage/retry_policy (jittered back-off, the server's Retry-After, the time budget) with a
// warning per retry; the call ends with "giving up after N attempts over T s" or, after a
// SIGINT/SIGTERM, without another attempt.
#pragma once

#include <functional>
#include <string_view>

#include "base/error.hpp"
#include "storage/http_transport.hpp"
#include "storage/retry_policy.hpp"

namespace kb::storage {

struct retrying_request {
  std::string_view backend;  ///< "s3", "azure", "gcs": the prefix of the log lines
  std::string_view method;
  std::string_view object;   ///< "'a/b' in s3://bkt/prod/", for messages
  retry_settings settings;
  /// Builds (signs) and sends one attempt; an error (no credentials, say) ends the call as is.
  std::function<result<http_response_data>()> send{};
  /// The answers that end the call successfully; empty: any 2xx.
  std::function<bool(const http_response_data&)> accept{};
  /// The answers worth another attempt; empty: transient_answer.
  std::function<bool(const http_response_data&)> retryable{};
  /// The error an unaccepted answer stands for (the backend's words and fixes).
  std::function<kb::error(const http_response_data&)> to_error{};
};

/// Sends `r` until it is accepted, is not retryable, or the retry policy gives up.
result<http_response_data> send_with_retries(const retrying_request& r);

/// What every backend retries: a transient transport failure (connect, stall, a broken
/// connection), 408, 429 and 5xx.
[[nodiscard]] bool transient_answer(const http_response_data& r) noexcept;

}  // namespace kb::storage
