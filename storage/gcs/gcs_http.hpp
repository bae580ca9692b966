// One HTTP exchange over libcurl for the GCS backend and its token sources (any method, a body,
// response headers), with a stall deadline and a SIGINT/SIGTERM check; plus URL encoding.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.hpp"

namespace kb::storage::gcs {

using header_pairs = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method;  ///< GET, POST, PUT, DELETE
  std::string url;
  header_pairs headers;
  byte_view body;
};

/// How a transfer ended when it got no HTTP answer.
enum class transport_failure { none, connect, timeout, tls, stalled, interrupted, other };

struct http_response {
  long status = 0;
  transport_failure failure = transport_failure::none;
  std::string transport_error;  ///< curl's text when `failure` is not none
  std::string body;
  header_pairs headers;  ///< names lower-case

  [[nodiscard]] std::string header(std::string_view name) const;
  [[nodiscard]] bool ok() const noexcept { return failure == transport_failure::none && status >= 200 && status < 300; }
};

struct http_limits {
  std::chrono::milliseconds connect_timeout{10000};
  /// No byte moved (or under 1 KiB/s) for this long: the attempt is abandoned.
  std::chrono::milliseconds stall_timeout{30000};
  std::chrono::milliseconds total_timeout{0};  ///< 0: none (large objects take long)
  std::string ca_file;
};

/// Injected in tests; production uses `perform`.
using http_fn = std::function<http_response(const http_request&, const http_limits&)>;

/// libcurl, one attempt, no retries. Thread-safe (one easy handle per thread, kept for reuse).
http_response perform(const http_request& request, const http_limits& limits);

/// Percent-encodes everything but RFC 3986 unreserved characters ('/' too: object names).
std::string url_encode(std::string_view text);

/// "a=1&b=x%20y" from pairs, each value url_encoded.
std::string form_encode(const header_pairs& fields);

}  // namespace kb::storage::gcs
