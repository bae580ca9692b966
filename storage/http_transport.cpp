#include "storage/http_transport.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

#include "base/interrupt.hpp"
#include "base/url.hpp"

namespace kb::storage {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

/// Where a response body goes: the request's download buffer for a 2xx answer, else the text.
struct body_target {
  CURL* handle = nullptr;
  std::string* text = nullptr;
  byte_vector* download = nullptr;
  bool decided = false;
  bool to_download = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<body_target*>(user);
  if (!t->decided) {
    long status = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
    t->to_download = t->download != nullptr && status >= 200 && status < 300;
    t->decided = true;
  }
  if (t->to_download) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(data);
    t->download->insert(t->download->end(), p, p + size * count);
  } else {
    t->text->append(data, size * count);
  }
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  const std::string_view line(data, size * count);
  auto* headers = static_cast<http_headers*>(user);
  // A new status line (after a 1xx answer) starts a new header block.
  if (line.starts_with("HTTP/")) headers->clear();
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) headers->emplace_back(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
  return size * count;
}

/// After a SIGINT/SIGTERM a transfer that moves no byte for this long is abandoned, so a frozen
/// endpoint cannot hold up the exit; transfers that make progress finish.
constexpr std::chrono::milliseconds interrupt_grace{3000};
std::atomic<bool> abandoned_after_interrupt{false};

struct transfer_watch {
  std::chrono::milliseconds stall_timeout;
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  curl_off_t last_bytes = 0;
  http_failure reason = http_failure::none;
};

int on_progress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* w = static_cast<transfer_watch*>(user);
  const auto now = std::chrono::steady_clock::now();
  const curl_off_t bytes = dlnow + ulnow;
  if (bytes != w->last_bytes) {
    w->last_bytes = bytes;
    w->last_progress = now;
  }
  const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(now - w->last_progress);
  if (const auto since = interrupt::elapsed()) {
    if (abandoned_after_interrupt.load() || std::min(idle, *since) >= interrupt_grace) {
      abandoned_after_interrupt.store(true);
      w->reason = http_failure::interrupted;
      return 1;
    }
  }
  if (idle >= w->stall_timeout) {
    w->reason = http_failure::stalled;
    return 1;
  }
  return 0;
}

/// The pieces of a request body, read back to back.
struct upload_source {
  const std::vector<byte_view>* pieces = nullptr;
  std::size_t piece = 0;
  std::size_t pos = 0;
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* src = static_cast<upload_source*>(user);
  const std::size_t room = size * count;
  std::size_t n = 0;
  while (n < room && src->piece < src->pieces->size()) {
    const byte_view p = (*src->pieces)[src->piece];
    const std::size_t take = std::min(room - n, p.size() - src->pos);
    if (take > 0) std::memcpy(buffer + n, p.data() + src->pos, take);
    n += take;
    src->pos += take;
    if (src->pos == p.size()) {
      ++src->piece;
      src->pos = 0;
    }
  }
  return n;
}

http_failure classify(CURLcode code) noexcept {
  switch (code) {
    case CURLE_OK: return http_failure::none;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return http_failure::connect;
    case CURLE_OPERATION_TIMEDOUT: return http_failure::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM: return http_failure::tls;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return http_failure::transient;
    default: return http_failure::other;
  }
}

}  // namespace

std::string http_response_data::header(std::string_view lower_name) const {
  for (const auto& [n, v] : headers) {
    if (n == lower_name) return v;
  }
  return {};
}

bool http_response_data::transient_failure() const noexcept {
  return failure == http_failure::connect || failure == http_failure::timeout ||
         failure == http_failure::stalled || failure == http_failure::transient;
}

struct http_transport::pool {
  std::mutex mutex;
  std::vector<CURL*> free;
  ~pool() {
    for (CURL* h : free) curl_easy_cleanup(h);
  }
  CURL* acquire() {
    {
      std::lock_guard lock(mutex);
      if (!free.empty()) {
        CURL* h = free.back();
        free.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void release(CURL* h) {
    curl_easy_reset(h);  // keeps the connection cache
    std::lock_guard lock(mutex);
    if (free.size() < 32) {
      free.push_back(h);
    } else {
      curl_easy_cleanup(h);
    }
  }
};

http_transport::http_transport(http_transport_options options)
    : options_(std::move(options)), pool_(std::make_unique<pool>()) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

http_transport::~http_transport() = default;

std::size_t http_request::body_size() const noexcept {
  std::size_t n = 0;
  for (const byte_view p : body) n += p.size();
  return n;
}

http_response_data http_transport::perform(std::string_view method, const std::string& url,
                                           const http_headers& headers, byte_view body) {
  http_request req{std::string(method), url, headers, {}};
  if (!body.empty()) req.body.push_back(body);
  return perform(req);
}

http_response_data http_transport::perform(const http_request& request) {
  http_response_data resp;
  if (request.download != nullptr) request.download->clear();
  if (interrupt::requested() && abandoned_after_interrupt.load()) {
    resp.failure = http_failure::interrupted;
    resp.failure_text = "not sent: interrupted";
    return resp;
  }
  CURL* h = pool_->acquire();
  if (h == nullptr) {
    resp.failure = http_failure::other;
    resp.failure_text = "curl_easy_init failed";
    return resp;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers) {
    list = curl_slist_append(list, fmt::format("{}: {}", name, value).c_str());
  }
  list = curl_slist_append(list, "Expect:");
  list = curl_slist_append(list, "Accept:");
  upload_source src{&request.body};
  body_target sink{h, &resp.body, request.download};
  transfer_watch watch{options_.stall_timeout};
  const std::string& method = request.method;
  const auto connect_timeout =
      request.connect_timeout.count() > 0 ? request.connect_timeout : options_.connect_timeout;
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &watch);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
  if (request.total_timeout.count() > 0) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  }
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>((options_.stall_timeout.count() + 999) / 1000)));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  const auto size = static_cast<curl_off_t>(request.body_size());
  if (method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &src);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
  } else if (method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, size);
    if (request.body.size() <= 1) {
      // One piece is posted straight from its memory ("" for none: a zero-byte POST).
      const char* data = request.body.empty() || request.body[0].empty()
                             ? ""
                             : reinterpret_cast<const char*>(request.body[0].data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
    } else {
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &src);
    }
  } else if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  const CURLcode code = curl_easy_perform(h);
  if (code == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  } else {
    resp.failure_text = errbuf[0] != 0 ? std::string(errbuf) : curl_easy_strerror(code);
    resp.failure = watch.reason != http_failure::none ? watch.reason : classify(code);
    // libcurl's own low-speed check (CURLOPT_LOW_SPEED_*) is our stall deadline too.
    if (code == CURLE_OPERATION_TIMEDOUT && resp.failure_text.find("too slow") != std::string::npos) {
      resp.failure = http_failure::stalled;
    }
    resp.status = 0;
    if (request.download != nullptr) request.download->clear();
  }
  curl_slist_free_all(list);
  pool_->release(h);
  return resp;
}

http_send_fn send_through(std::shared_ptr<http_transport> transport) {
  return [transport = std::move(transport)](const http_request& r) { return transport->perform(r); };
}

kb::error http_failure_error(const http_response_data& r, std::string_view what, std::string_view endpoint,
                             std::string_view setting, std::chrono::milliseconds stall_timeout) {
  switch (r.failure) {
    case http_failure::interrupted:
      return {make_error_code(errc::cancelled),
              fmt::format("{} was interrupted by signal {} while waiting for {}", what, interrupt::first_signal(),
                          endpoint)};
    case http_failure::stalled:
      return {make_error_code(errc::timeout),
              fmt::format("{}: {} sent or took no data for {:.1f} s (storage.stall_timeout_ms); check that the "
                          "server is healthy and reachable",
                          what, endpoint, static_cast<double>(stall_timeout.count()) / 1000.0)};
    case http_failure::connect:
      return {make_error_code(errc::connect),
              fmt::format("cannot connect to {} ({}): check {} and that the server is running", endpoint,
                          r.failure_text, setting)};
    case http_failure::timeout:
      return {make_error_code(errc::timeout), fmt::format("{} timed out at {} ({})", what, endpoint, r.failure_text)};
    case http_failure::tls:
      return {make_error_code(errc::tls),
              fmt::format("TLS handshake failed with {}: {}; check the endpoint's certificate and the trusted CAs",
                          endpoint, r.failure_text)};
    case http_failure::transient:
    case http_failure::other:
    case http_failure::none: break;
  }
  return {make_error_code(errc::io), fmt::format("{} failed: {}", what, r.failure_text)};
}

std::string url_encode(std::string_view text, bool keep_slash) { return url::percent_encode(text, keep_slash); }

std::string form_body(const http_headers& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += url_encode(k) + "=" + url_encode(v);
  }
  return out;
}

}  // namespace kb::storage
