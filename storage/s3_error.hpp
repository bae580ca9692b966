// What a failed S3 request means: the <Error> body read, the answer mapped to an errc and a
// sentence naming the object and the fix (credentials, clock, bucket, checksum), and which
// answers are worth another attempt. Never a secret in a message.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "storage/http_transport.hpp"

namespace kb::storage::s3 {

/// <Error><Code/><Message/></Error>; empty fields when the body is not one.
struct error_body {
  std::string code;
  std::string message;
};
[[nodiscard]] error_body parse_error_body(std::string_view body);

/// What an error message says about the request.
struct request_context {
  std::string_view method;
  std::string object;             ///< "'a/b' in s3://bkt/prod/"
  std::string_view endpoint;
  std::string_view bucket;
  std::string key_id;             ///< masked
  std::string credential_source;  ///< empty: static keys
  std::chrono::milliseconds stall_timeout{0};
};

/// The error an S3 answer (or a failure without one) stands for.
[[nodiscard]] kb::error response_error(const http_response_data& r, const request_context& c);

/// Transient transport failures, 5xx, 429, and 400 RequestTimeout / SlowDown.
[[nodiscard]] bool retryable(const http_response_data& r);

}  // namespace kb::storage::s3
