// One HTTP exchange over libcurl for every storage backend (S3, Azure Blob, GCS) and their
// identity endpoints: reused handles, a connect timeout, a stall deadline (no byte moved for too
// long), requests that a SIGINT/SIGTERM abandons, bodies sent from several pieces without a copy,
// downloads into the caller's buffer, and the transport error classified. No retries
// (storage/http_retry), no signing.
#pragma once

#include <chrono>
#include <functional>
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
  std::string body;                  ///< empty when the request's `download` took it
  http_headers headers;

  [[nodiscard]] std::string header(std::string_view lower_name) const;
  /// A failure worth another attempt: connect, timeout, stall, a broken connection.
  [[nodiscard]] bool transient_failure() const noexcept;
  /// An HTTP answer with a 2xx status.
  [[nodiscard]] bool ok() const noexcept { return failure == http_failure::none && status >= 200 && status < 300; }
};

/// One request. Everything it points to must outlive the call.
struct http_request {
  std::string method;  ///< GET, HEAD, PUT, POST, DELETE
  std::string url;
  http_headers headers{};
  std::vector<byte_view> body{};    ///< PUT, POST: sent back to back, as one body
  /// The body of a 2xx answer is appended here instead of to the response's `body`, so a GET
  /// lands in the caller's buffer (cleared first; error bodies still go to `body`).
  byte_vector* download = nullptr;
  std::chrono::milliseconds connect_timeout{0};  ///< 0: the transport's
  std::chrono::milliseconds total_timeout{0};    ///< 0: none (large objects take long)

  [[nodiscard]] std::size_t body_size() const noexcept;
};

/// Sends one request. An http_transport in production; unit tests inject a scripted one.
using http_send_fn = std::function<http_response_data(const http_request&)>;

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

  http_response_data perform(const http_request& request);
  /// `method`: GET, HEAD, PUT, POST, DELETE. The body (PUT, POST) must outlive the call.
  http_response_data perform(std::string_view method, const std::string& url, const http_headers& headers,
                             byte_view body = {});

  [[nodiscard]] const http_transport_options& options() const noexcept { return options_; }

 private:
  struct pool;
  http_transport_options options_;
  std::unique_ptr<pool> pool_;
};

/// An http_send_fn over `transport` (kept alive by the function).
http_send_fn send_through(std::shared_ptr<http_transport> transport);

/// `errc` and a sentence for a failure without an HTTP answer; `what` names the request
/// ("PUT 'a/b' in azure://..."), `endpoint` the server, `setting` the key that sets it.
kb::error http_failure_error(const http_response_data& r, std::string_view what, std::string_view endpoint,
                             std::string_view setting, std::chrono::milliseconds stall_timeout);

/// RFC 3986 percent-encoding of everything but unreserved characters; '/' kept when `keep_slash`
/// (url::percent_encode, on Boost.URL).
std::string url_encode(std::string_view text, bool keep_slash = false);

/// "a=1&b=x%20y": an application/x-www-form-urlencoded body or query, each part url_encoded.
std::string form_body(const http_headers& fields);

}  // namespace kb::storage
