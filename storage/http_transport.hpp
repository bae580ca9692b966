// One HTTP exchange over libcurl for the storage backends that are not S3 (Azure Blob): reused
// handles, a connect timeout, a stall deadline (no byte moved for too long), requests that a
// SIGINT/SIGTERM abandons, and the transport error classified. No retries, no signing.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::storage {

/// Header name/value pairs; response header names are lower-case.
using http_headers = std::vector<std::pair<std::string, std::string>>;

/// How an exchange ended without an HTTP answer.
enum class http_failure { none, connect, timeout, stalled, interrupted, tls, transient, other };

struct http_response_data {
  long status = 0;                   ///< 0 when `failure` is not none
  http_failure failure = http_failure::none;
  std::string failure_text;          ///< libcurl's description of the failure
  std::string body;
  http_headers headers;

  [[nodiscard]] std::string header(std::string_view lower_name) const;
  /// A failure worth another attempt: connect, timeout, stall, a broken connection.
  [[nodiscard]] bool transient_failure() const noexcept;
};

struct http_transport_options {
  std::chrono::milliseconds connect_timeout{10'000};
  /// An attempt is abandoned when no byte moved for this long (or it moved slower than 1 KiB/s).
  std::chrono::milliseconds stall_timeout{30'000};
  std::string ca_file;  ///< extra trust anchors for https endpoints; empty: the system store
};

/// Thread-safe: each call takes its own handle from a pool.
class http_transport {
 public:
  explicit http_transport(http_transport_options options);
  ~http_transport();
  http_transport(const http_transport&) = delete;
  http_transport& operator=(const http_transport&) = delete;

  /// `method`: GET, HEAD, PUT, POST, DELETE. The body (PUT, POST) must outlive the call.
  http_response_data perform(std::string_view method, const std::string& url, const http_headers& headers,
                             byte_view body = {});

  [[nodiscard]] const http_transport_options& options() const noexcept { return options_; }

 private:
  struct pool;
  http_transport_options options_;
  std::unique_ptr<pool> pool_;
};

/// `errc` and a sentence for a failure without an HTTP answer; `what` names the request
/// ("PUT 'a/b' in azure://..."), `endpoint` the server, `setting` the key that sets it.
kb::error http_failure_error(const http_response_data& r, std::string_view what, std::string_view endpoint,
                             std::string_view setting, std::chrono::milliseconds stall_timeout);

/// RFC 3986 percent-encoding of everything but unreserved characters; '/' kept when `keep_slash`.
std::string url_encode(std::string_view text, bool keep_slash = false);

}  // namespace kb::storage
