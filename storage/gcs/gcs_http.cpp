#include "storage/gcs/gcs_http.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

#include "base/interrupt.hpp"

namespace kb::storage::gcs {
namespace {

void curl_global_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

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

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  const std::string_view line(data, size * count);
  auto* headers = static_cast<header_pairs*>(user);
  // A new status line (after a 100 Continue or a redirect) starts a new header block.
  if (line.starts_with("HTTP/")) headers->clear();
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) headers->emplace_back(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
  return size * count;
}

struct upload_source {
  byte_view data;
  std::size_t pos = 0;
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* src = static_cast<upload_source*>(user);
  const std::size_t n = std::min(size * count, src->data.size() - src->pos);
  if (n > 0) std::memcpy(buffer, src->data.data() + src->pos, n);
  src->pos += n;
  return n;
}

/// After a signal, a transfer that moves nothing for this long is given up (a graceful stop
/// still lets transfers that make progress finish).
constexpr std::chrono::milliseconds interrupt_grace{3000};

struct transfer_watch {
  std::chrono::milliseconds stall_timeout;
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  curl_off_t last_bytes = 0;
  transport_failure reason = transport_failure::none;
};

int on_progress(void* user, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* w = static_cast<transfer_watch*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (dlnow + ulnow != w->last_bytes) {
    w->last_bytes = dlnow + ulnow;
    w->last_progress = now;
  }
  const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(now - w->last_progress);
  if (const auto since = interrupt::elapsed(); since && std::min(idle, *since) >= interrupt_grace) {
    w->reason = transport_failure::interrupted;
    return 1;
  }
  if (idle >= w->stall_timeout) {
    w->reason = transport_failure::stalled;
    return 1;
  }
  return 0;
}

/// One easy handle per thread: a reset handle keeps its connection cache.
struct thread_handle {
  CURL* h = nullptr;
  ~thread_handle() {
    if (h != nullptr) curl_easy_cleanup(h);
  }
  CURL* get() {
    if (h == nullptr) {
      h = curl_easy_init();
    } else {
      curl_easy_reset(h);
    }
    return h;
  }
};

transport_failure classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return transport_failure::connect;
    case CURLE_OPERATION_TIMEDOUT: return transport_failure::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM: return transport_failure::tls;
    default: return transport_failure::other;
  }
}

}  // namespace

std::string http_response::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

http_response perform(const http_request& request, const http_limits& limits) {
  curl_global_once();
  thread_local thread_handle handle;
  http_response resp;
  CURL* h = handle.get();
  if (h == nullptr) {
    resp.failure = transport_failure::other;
    resp.transport_error = "curl_easy_init failed";
    return resp;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers) {
    list = curl_slist_append(list, fmt::format("{}: {}", name, value).c_str());
  }
  list = curl_slist_append(list, "Expect:");
  upload_source src{request.body, 0};
  transfer_watch watch{limits.stall_timeout};
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &watch);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count()));
  if (limits.total_timeout.count() > 0) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total_timeout.count()));
  }
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>((limits.stall_timeout.count() + 999) / 1000)));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
  if (!limits.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, limits.ca_file.c_str());
  const std::string& m = request.method;
  if (m == "PUT" || m == "POST") {
    // Both through the read callback: a body of any size, sent without a copy.
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &src);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (m == "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (m == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (m != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  const CURLcode code = curl_easy_perform(h);
  if (code == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  } else {
    resp.failure = watch.reason != transport_failure::none ? watch.reason : classify(code);
    resp.transport_error = errbuf[0] != 0 ? std::string(errbuf) : curl_easy_strerror(code);
  }
  curl_slist_free_all(list);
  return resp;
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0x0F]);
    }
  }
  return out;
}

std::string form_encode(const header_pairs& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += url_encode(k);
    out.push_back('=');
    out += url_encode(v);
  }
  return out;
}

}  // namespace kb::storage::gcs
