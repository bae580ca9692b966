#include "storage/s3_store.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

#include "base/crc32c.hpp"
#include "base/interrupt.hpp"
#include "base/log.hpp"
#include "storage/retry_policy.hpp"
#include "storage/s3_response.hpp"
#include "storage/xml.hpp"

namespace kb::storage {
namespace {

using sigv4::header_list;

/// Why our progress callback ended a transfer.
enum class abort_reason { none, stalled, interrupted };

struct http_response {
  long status = 0;
  CURLcode code = CURLE_OK;
  abort_reason aborted = abort_reason::none;
  std::string curl_error;
  std::string body;
  header_list headers;  // names lower-case

  [[nodiscard]] std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

/// Base64 (RFC 4648, padded) of 4 bytes: 8 characters, the last two "==".
std::string base64_4(const std::uint8_t (&b)[4]) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out += alphabet[b[0] >> 2];
  out += alphabet[((b[0] & 0x03) << 4) | (b[1] >> 4)];
  out += alphabet[((b[1] & 0x0F) << 2) | (b[2] >> 6)];
  out += alphabet[b[2] & 0x3F];
  out += alphabet[b[3] >> 2];
  out += alphabet[(b[3] & 0x03) << 4];
  out += "==";
  return out;
}

void curl_global_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  const std::string_view line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    static_cast<header_list*>(user)->emplace_back(lower(line.substr(0, colon)),
                                                  trim(line.substr(colon + 1)));
  }
  return size * count;
}

/// After a SIGINT/SIGTERM, a transfer that moves no byte for this long is abandoned, so a
/// frozen endpoint cannot hold up the exit; transfers that make progress finish (a graceful
/// stop still commits what is in flight).
constexpr std::chrono::milliseconds interrupt_grace{3000};

/// Set once a transfer was abandoned after an interruption: the endpoint is not answering, so
/// later requests of this process fail at once instead of each waiting out the grace.
std::atomic<bool> abandoned_after_interrupt{false};

/// Progress watch of one transfer (CURLOPT_XFERINFOFUNCTION): the stall deadline and the
/// interruption check.
struct transfer_watch {
  std::chrono::milliseconds stall_timeout;
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  curl_off_t last_bytes = 0;
  abort_reason reason = abort_reason::none;
};

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  (void)dltotal;
  (void)ultotal;
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
      w->reason = abort_reason::interrupted;
      return 1;
    }
  }
  if (idle >= w->stall_timeout) {
    w->reason = abort_reason::stalled;
    return 1;
  }
  return 0;
}

struct upload_source {
  byte_view data;
  std::size_t pos = 0;
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* src = static_cast<upload_source*>(user);
  const std::size_t n = std::min(size * count, src->data.size() - src->pos);
  std::memcpy(buffer, src->data.data() + src->pos, n);
  src->pos += n;
  return n;
}

/// Easy handles kept for reuse: a reset handle keeps its connection cache.
class handle_pool {
 public:
  handle_pool() = default;
  handle_pool(const handle_pool&) = delete;
  handle_pool& operator=(const handle_pool&) = delete;
  ~handle_pool() {
    for (CURL* h : free_) curl_easy_cleanup(h);
  }
  CURL* acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        CURL* h = free_.back();
        free_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void release(CURL* h) {
    curl_easy_reset(h);
    std::lock_guard lock(mutex_);
    if (free_.size() < 32) {
      free_.push_back(h);
    } else {
      curl_easy_cleanup(h);
    }
  }

 private:
  std::mutex mutex_;
  std::vector<CURL*> free_;
};

struct split_endpoint {
  std::string scheme;  // "http" / "https"
  std::string host;    // host[:port]
};

split_endpoint split(std::string_view endpoint) {
  const auto sep = endpoint.find("://");
  return {std::string(endpoint.substr(0, sep)), std::string(endpoint.substr(sep + 3))};
}

bool retryable_curl(CURLcode code) noexcept {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
  }
}

struct s3_error_body {
  std::string code;
  std::string message;
};

s3_error_body parse_error_body(std::string_view body) {
  s3_error_body out;
  if (body.empty()) return out;
  auto doc = xml::parse(body);
  if (!doc || doc->name != "Error") return out;
  out.code = doc->child_text("Code");
  out.message = doc->child_text("Message");
  return out;
}

/// One uploaded part as CompleteMultipartUpload lists it.
struct completed_part {
  int number = 0;
  std::string etag;
  std::string crc32c;  ///< x-amz-checksum-crc32c sent with the part; empty with sha256

  bool operator<(const completed_part& other) const noexcept { return number < other.number; }
};

class s3_store;

class s3_writer final : public object_writer {
 public:
  s3_writer(s3_store& store, std::string key);
  ~s3_writer() override { abort(); }
  result<void> write(byte_view chunk) override;
  result<void> commit() override;
  void abort() noexcept override;
  [[nodiscard]] std::uint64_t bytes_written() const noexcept override { return written_; }

 private:
  struct part {
    int number = 0;
    std::future<result<completed_part>> done;
  };
  result<void> flush_part();
  result<void> wait_oldest();

  s3_store& store_;
  std::string key_;
  byte_vector buffer_;
  std::string upload_id_;
  std::deque<part> in_flight_;
  std::vector<completed_part> done_;
  int next_part_ = 1;
  std::uint64_t written_ = 0;
  bool finished_ = false;
};

class s3_store final : public object_store {
 public:
  explicit s3_store(s3_options options) : options_(std::move(options)) {
    curl_global_once();
    if (options_.endpoint.empty()) {
      options_.endpoint = fmt::format("https://s3.{}.amazonaws.com", options_.region);
    }
    const auto parts = split(options_.endpoint);
    scheme_ = parts.scheme;
    host_ = options_.path_style ? parts.host : options_.bucket + "." + parts.host;
    if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
  }

  [[nodiscard]] const s3_options& options() const noexcept { return options_; }

  result<void> put(std::string_view key, byte_view data) override {
    if (auto ok = validate_key(key); !ok) return ok;
    if (data.size() > options_.part_size) return put_multipart(key, data);
    return put_single(key, data, false);
  }

  /// A whole object already in memory: its parts are sent straight from `data` (which outlives
  /// the call), with no copy into part buffers as the streaming writer must make.
  result<void> put_multipart(std::string_view key, byte_view data) {
    auto id = create_multipart(key);
    if (!id) return tl::unexpected(id.error());
    const std::string name(key);
    const std::size_t part_size = options_.part_size;
    const std::size_t parallel = std::max<std::size_t>(1, options_.max_parallel_parts);
    std::deque<std::future<result<completed_part>>> in_flight;
    std::vector<completed_part> done;
    std::optional<kb::error> failed;
    auto wait_oldest = [&] {
      auto r = in_flight.front().get();
      in_flight.pop_front();
      if (!r) {
        if (!failed) failed = r.error();
      } else {
        done.push_back(std::move(*r));
      }
    };
    int number = 1;
    for (std::size_t at = 0; at < data.size() && !failed; at += part_size, ++number) {
      while (in_flight.size() >= parallel && !failed) wait_oldest();
      if (failed) break;
      const byte_view piece = data.subspan(at, std::min(part_size, data.size() - at));
      in_flight.push_back(std::async(std::launch::async, [this, &name, &id, number, piece] {
        return upload_part(name, *id, number, piece);
      }));
    }
    while (!in_flight.empty()) wait_oldest();  // every part settles before `data` may go away
    if (!failed) {
      std::sort(done.begin(), done.end());
      if (auto ok = complete_multipart(key, *id, done); ok) return {};
      else failed = ok.error();
    }
    abort_multipart(key, *id);
    return tl::unexpected(*failed);
  }

  result<void> put_if_absent(std::string_view key, byte_view data) override {
    if (auto ok = validate_key(key); !ok) return ok;
    return put_single(key, data, true);
  }

  result<void> put_single(std::string_view key, byte_view data, bool if_absent) {
    header_list headers = sse_headers();
    if (if_absent) headers.emplace_back("If-None-Match", "*");
    if (crc32c_uploads()) headers.emplace_back("x-amz-checksum-crc32c", crc32c_header(data, 0));
    auto resp = execute("PUT", key, object_path(key), {}, std::move(headers), data, crc32c_uploads());
    if (!resp) return tl::unexpected(resp.error());
    return {};
  }

  result<byte_vector> get(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    auto resp = execute("GET", key, object_path(key), {}, {}, {});
    if (!resp) return tl::unexpected(resp.error());
    return byte_vector(resp->body.begin(), resp->body.end());
  }

  result<byte_vector> get_range(std::string_view key, std::uint64_t offset,
                                std::uint64_t length) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    if (length == 0) {
      auto meta = head(key);
      if (!meta) return tl::unexpected(meta.error());
      return byte_vector{};
    }
    const std::uint64_t last = length > UINT64_MAX - offset ? UINT64_MAX : offset + length - 1;
    auto resp = execute("GET", key, object_path(key), {},
                        {{"Range", fmt::format("bytes={}-{}", offset, last)}}, {});
    if (!resp) return tl::unexpected(resp.error());
    if (resp->status == 200 && offset > 0) {
      // A server that ignored Range sent the whole object: cut it here.
      if (offset >= resp->body.size()) {
        return fail(errc::invalid_argument,
                    fmt::format("range at offset {} is past the end of '{}'", offset, key));
      }
      const auto n = std::min<std::uint64_t>(length, resp->body.size() - offset);
      return byte_vector(resp->body.begin() + static_cast<std::ptrdiff_t>(offset),
                         resp->body.begin() + static_cast<std::ptrdiff_t>(offset + n));
    }
    byte_vector out(resp->body.begin(), resp->body.end());
    if (out.size() > length) out.resize(static_cast<std::size_t>(length));
    return out;
  }

  result<object_meta> head(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    auto resp = execute("HEAD", key, object_path(key), {}, {}, {});
    if (!resp) return tl::unexpected(resp.error());
    return s3::parse_head(resp->headers, fmt::format("'{}' in {}", key, describe()));
  }

  result<std::vector<std::string>> list_prefixes(std::string_view prefix) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    if (!prefix.empty() && prefix.back() != '/') {
      return fail(errc::invalid_argument,
                  fmt::format("list_prefixes needs a folder prefix ending in '/', got '{}'", prefix));
    }
    std::vector<std::string> out;
    auto ok = list_pages(prefix, {}, true, [&](const xml::element& page) -> result<void> {
      for (const xml::element* cp : page.children_named("CommonPrefixes")) {
        std::string p = cp->child_text("Prefix");
        if (p.starts_with(options_.prefix)) out.push_back(p.substr(options_.prefix.size()));
      }
      return {};
    });
    if (!ok) return tl::unexpected(ok.error());
    std::sort(out.begin(), out.end());
    return out;
  }

  result<void> remove(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return ok;
    auto resp = execute("DELETE", key, object_path(key), {}, {}, {});
    if (!resp && !resp.error().is(errc::not_found)) return tl::unexpected(resp.error());
    return {};
  }

  result<std::unique_ptr<object_writer>> open_writer(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    return std::unique_ptr<object_writer>(std::make_unique<s3_writer>(*this, std::string(key)));
  }

  [[nodiscard]] std::string describe() const override {
    return fmt::format("s3://{}/{}", options_.bucket, options_.prefix);
  }

  result<stale_cleanup> cleanup_stale(std::string_view prefix, std::chrono::system_clock::time_point before,
                                      const std::vector<std::string>& keep) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    std::vector<s3::multipart_upload> stale;
    std::string key_marker;
    std::string id_marker;
    for (int page_no = 0; page_no < 100000; ++page_no) {
      header_list query{{"uploads", ""}, {"prefix", options_.prefix + std::string(prefix)}, {"max-uploads", "1000"}};
      if (!key_marker.empty()) query.emplace_back("key-marker", key_marker);
      if (!id_marker.empty()) query.emplace_back("upload-id-marker", id_marker);
      auto resp = execute("GET", prefix, bucket_path(), std::move(query), {}, {});
      if (!resp) return tl::unexpected(resp.error());
      auto doc = xml::parse(resp->body);
      if (!doc) return tl::unexpected(doc.error());
      auto uploads = s3::parse_multipart_uploads(*doc);
      if (!uploads) return tl::unexpected(uploads.error());
      for (auto& u : *uploads) {
        if (!u.key.starts_with(options_.prefix) || u.initiated >= before) continue;
        const std::string rel = u.key.substr(options_.prefix.size());
        if (std::any_of(keep.begin(), keep.end(), [&](const std::string& k) { return rel.starts_with(k); })) continue;
        stale.push_back(std::move(u));
      }
      if (doc->child_text("IsTruncated") != "true") break;
      key_marker = doc->child_text("NextKeyMarker");
      id_marker = doc->child_text("NextUploadIdMarker");
      if (key_marker.empty()) {
        return fail(errc::protocol, fmt::format("ListMultipartUploads of {} said the listing is truncated but "
                                                "gave no NextKeyMarker", describe()));
      }
    }
    stale_cleanup out;
    for (const auto& u : stale) {
      const std::string rel = u.key.substr(options_.prefix.size());
      auto resp = execute("DELETE", rel, bucket_path() + u.key, {{"uploadId", u.upload_id}}, {}, {});
      if (!resp && !resp.error().is(errc::not_found)) return tl::unexpected(resp.error());
      out.removed.push_back(rel);
    }
    return out;
  }

  // --- multipart, used by s3_writer ---------------------------------------------------------

  result<std::string> create_multipart(std::string_view key) {
    header_list headers = sse_headers();
    if (crc32c_uploads()) headers.emplace_back("x-amz-checksum-algorithm", "CRC32C");
    auto resp = execute("POST", key, object_path(key), {{"uploads", ""}}, std::move(headers), {});
    if (!resp) return tl::unexpected(resp.error());
    auto doc = xml::parse(resp->body);
    if (!doc) return tl::unexpected(doc.error());
    std::string id = doc->child_text("UploadId");
    if (id.empty()) {
      return fail(errc::protocol, fmt::format("CreateMultipartUpload for '{}' in {} returned no "
                                              "UploadId", key, describe()));
    }
    return id;
  }

  result<completed_part> upload_part(const std::string& key, const std::string& upload_id, int number,
                                     byte_view data) {
    completed_part out;
    out.number = number;
    header_list headers;
    if (crc32c_uploads()) {
      out.crc32c = crc32c_header(data, number);
      headers.emplace_back("x-amz-checksum-crc32c", out.crc32c);
    }
    auto resp = execute("PUT", key, object_path(key),
                        {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}},
                        std::move(headers), data, crc32c_uploads());
    if (!resp) return tl::unexpected(resp.error());
    out.etag = resp->header("etag");
    if (out.etag.empty()) {
      return fail(errc::protocol, fmt::format("UploadPart {} of '{}' in {} returned no ETag", number,
                                              key, describe()));
    }
    return out;
  }

  result<void> complete_multipart(std::string_view key, const std::string& upload_id,
                                  const std::vector<completed_part>& parts) {
    std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    for (const auto& p : parts) {
      body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag>", p.number,
                          xml::escape(p.etag));
      if (!p.crc32c.empty()) body += fmt::format("<ChecksumCRC32C>{}</ChecksumCRC32C>", p.crc32c);
      body += "</Part>";
    }
    body += "</CompleteMultipartUpload>";
    auto resp = execute("POST", key, object_path(key), {{"uploadId", upload_id}},
                        {{"Content-Type", "application/xml"}}, as_bytes(body));
    if (!resp) return tl::unexpected(resp.error());
    // S3 may answer 200 and still fail: the error is then in the body.
    const s3_error_body err = parse_error_body(resp->body);
    if (!err.code.empty()) {
      return fail(errc::io, fmt::format("CompleteMultipartUpload of '{}' in {} failed: {}: {}", key,
                                        describe(), err.code, err.message));
    }
    return {};
  }

  void abort_multipart(std::string_view key, const std::string& upload_id) noexcept {
    auto resp = execute("DELETE", key, object_path(key), {{"uploadId", upload_id}}, {}, {});
    if (!resp && !resp.error().is(errc::not_found)) {
      log::warn("could not abort the multipart upload of '{}' in {}: {}; an "
                "AbortIncompleteMultipartUpload lifecycle rule will clean it up",
                key, describe(), resp.error().message);
    }
  }

 protected:
  result<std::vector<object_info>> do_list(std::string_view prefix,
                                           const list_options& options) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    std::vector<object_info> out;
    auto ok = list_pages(prefix, options.start_after, false, [&](const xml::element& page) -> result<void> {
      auto entries = s3::parse_list_page(page, options_.prefix);
      if (!entries) return tl::unexpected(entries.error());
      out.insert(out.end(), std::make_move_iterator(entries->begin()), std::make_move_iterator(entries->end()));
      return {};
    });
    if (!ok) return tl::unexpected(ok.error());
    std::sort(out.begin(), out.end(),
              [](const object_info& a, const object_info& b) { return a.key < b.key; });
    return out;
  }

 private:
  template <class OnPage>
  result<void> list_pages(std::string_view prefix, std::string_view start_after, bool delimited,
                          OnPage&& on_page) {
    std::string token;
    for (int page_no = 0; page_no < 1000000; ++page_no) {
      header_list query{{"list-type", "2"},
                        {"prefix", options_.prefix + std::string(prefix)},
                        {"max-keys", std::to_string(options_.list_page_size)}};
      if (delimited) query.emplace_back("delimiter", "/");
      if (!token.empty()) {
        query.emplace_back("continuation-token", token);
      } else if (!start_after.empty()) {
        query.emplace_back("start-after", options_.prefix + std::string(start_after));
      }
      auto resp = execute("GET", prefix, bucket_path(), std::move(query), {}, {});
      if (!resp) return tl::unexpected(resp.error());
      auto doc = xml::parse(resp->body);
      if (!doc) return tl::unexpected(doc.error());
      if (auto ok = on_page(*doc); !ok) return ok;
      if (doc->child_text("IsTruncated") != "true") return {};
      token = doc->child_text("NextContinuationToken");
      if (token.empty()) {
        return fail(errc::protocol, fmt::format("ListObjectsV2 of {} said the listing is truncated "
                                                "but gave no continuation token", describe()));
      }
    }
    return fail(errc::internal, "ListObjectsV2 did not end");
  }

  [[nodiscard]] std::string bucket_path() const {
    return options_.path_style ? "/" + options_.bucket + "/" : "/";
  }
  [[nodiscard]] std::string object_path(std::string_view key) const {
    return bucket_path() + options_.prefix + std::string(key);
  }

  [[nodiscard]] bool crc32c_uploads() const noexcept {
    return options_.checksum == upload_checksum::crc32c;
  }

  /// The x-amz-checksum-crc32c of one upload (`part` 0: a single PutObject).
  [[nodiscard]] std::string crc32c_header(byte_view data, int part) const {
    return options_.crc32c_checksum ? options_.crc32c_checksum(data, part) : s3_crc32c_checksum(data);
  }

  [[nodiscard]] header_list sse_headers() const {
    header_list out;
    if (options_.sse == sse_mode::aes256) {
      out.emplace_back("x-amz-server-side-encryption", "AES256");
    } else if (options_.sse == sse_mode::aws_kms) {
      out.emplace_back("x-amz-server-side-encryption", "aws:kms");
      if (!options_.sse_kms_key_id.empty()) {
        out.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", options_.sse_kms_key_id);
      }
    }
    return out;
  }

  /// One HTTP exchange, no retries.
  http_response perform(const std::string& method, const std::string& url, const header_list& headers,
                        byte_view body) {
    http_response resp;
    CURL* h = handles_.acquire();
    if (h == nullptr) {
      resp.code = CURLE_FAILED_INIT;
      resp.curl_error = "curl_easy_init failed";
      return resp;
    }
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* list = nullptr;
    for (const auto& [name, value] : headers) {
      list = curl_slist_append(list, fmt::format("{}: {}", name, value).c_str());
    }
    list = curl_slist_append(list, "Expect:");
    list = curl_slist_append(list, "Accept:");
    upload_source src{body, 0};
    transfer_watch watch{options_.stall_timeout};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &watch);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>((options_.stall_timeout.count() + 999) / 1000)));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
    if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &src);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else if (method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(body.data()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else if (method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    if (interrupt::requested() && abandoned_after_interrupt.load()) {
      resp.code = CURLE_ABORTED_BY_CALLBACK;
      resp.aborted = abort_reason::interrupted;
      resp.curl_error = "not sent: interrupted";
      curl_slist_free_all(list);
      handles_.release(h);
      return resp;
    }
    resp.code = curl_easy_perform(h);
    resp.aborted = watch.reason;
    if (resp.code == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    } else {
      resp.curl_error = errbuf[0] != 0 ? std::string(errbuf) : curl_easy_strerror(resp.code);
    }
    curl_slist_free_all(list);
    handles_.release(h);
    return resp;
  }

  kb::error to_error(const http_response& r, std::string_view method, std::string_view key) const {
    const std::string object = key.empty() ? describe() : fmt::format("'{}' in {}", key, describe());
    if (r.aborted == abort_reason::interrupted) {
      return {make_error_code(errc::cancelled),
              fmt::format("{} {} was interrupted by signal {} while waiting for S3 endpoint {}", method, object,
                          interrupt::first_signal(), options_.endpoint)};
    }
    if (r.aborted == abort_reason::stalled || (r.code == CURLE_OPERATION_TIMEDOUT && r.status == 0 &&
                                               r.curl_error.find("slower than") != std::string::npos)) {
      return {make_error_code(errc::timeout),
              fmt::format("{} {}: S3 endpoint {} sent or took no data for {:.1f} s (storage.stall_timeout_ms); "
                          "check that the server is healthy and reachable",
                          method, object, options_.endpoint,
                          static_cast<double>(options_.stall_timeout.count()) / 1000.0)};
    }
    if (r.code != CURLE_OK) {
      switch (r.code) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
          return {make_error_code(errc::connect),
                  fmt::format("cannot connect to S3 endpoint {} ({}): check storage.endpoint / the "
                              "URL's endpoint= and that the server is running",
                              options_.endpoint, r.curl_error)};
        case CURLE_OPERATION_TIMEDOUT:
          return {make_error_code(errc::timeout),
                  fmt::format("{} {} timed out at {} ({})", method, object, options_.endpoint,
                              r.curl_error)};
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
          return {make_error_code(errc::tls),
                  fmt::format("SSL handshake failed with S3 endpoint {}: {}; check the endpoint's "
                              "certificate and ca_file",
                              options_.endpoint, r.curl_error)};
        default:
          return {make_error_code(errc::io),
                  fmt::format("{} {} failed: {}", method, object, r.curl_error)};
      }
    }
    const s3_error_body body = parse_error_body(r.body);
    const std::string detail =
        body.code.empty() ? fmt::format("HTTP {}", r.status)
                          : fmt::format("HTTP {} {}: {}", r.status, body.code, body.message);
    // Credential problems, whatever the status (versitygw answers an unknown access key with
    // 404 XAdminUserNotFound, AWS with 403 InvalidAccessKeyId).
    const bool credential_code =
        body.code == "InvalidAccessKeyId" || body.code == "XAdminUserNotFound" ||
        body.code == "SignatureDoesNotMatch" || body.code == "AccessDenied" ||
        body.code == "RequestTimeTooSkewed" || body.code == "ExpiredToken" ||
        body.code == "InvalidToken";
    if (r.status == 403 || r.status == 401 || credential_code) {
      const std::string key_id = options_.credential_source ? options_.credential_source->access_key_id()
                                                            : masked_key_id(options_.credentials.access_key_id);
      const std::string from =
          options_.credential_source ? fmt::format(" (credentials from {})", options_.credential_source->source()) : "";
      std::string hint = "check the access key, the secret key and the bucket policy";
      if (body.code == "RequestTimeTooSkewed") {
        hint = "the local clock is more than 15 minutes off the server's; fix the clock (NTP)";
      } else if (body.code == "ExpiredToken" || body.code == "InvalidToken") {
        hint = "the session token is expired or unknown to the server: renew the temporary credentials "
               "(storage.credentials names the source)";
      } else if (body.code == "SignatureDoesNotMatch") {
        hint = "the secret key does not match the access key: check AWS_SECRET_ACCESS_KEY / "
               "storage.secret_key";
      } else if (body.code == "InvalidAccessKeyId" || body.code == "XAdminUserNotFound") {
        hint = "the access key is unknown to the server: check AWS_ACCESS_KEY_ID / "
               "storage.access_key";
      }
      return {make_error_code(errc::authorization),
              fmt::format("S3 refused {} {} as access key {}{}: {}; {}", method, object, key_id, from, detail,
                          hint)};
    }
    if (r.status == 404) {
      if (body.code == "NoSuchBucket") {
        return {make_error_code(errc::not_found),
                fmt::format("bucket '{}' does not exist at {}: create it or fix the bucket name",
                            options_.bucket, options_.endpoint)};
      }
      if (body.code == "NoSuchUpload") {
        return {make_error_code(errc::not_found),
                fmt::format("multipart upload of {} no longer exists ({})", object, detail)};
      }
      if (!body.code.empty() && body.code != "NoSuchKey") {
        return {make_error_code(errc::not_found),
                fmt::format("{} {}: not found ({})", method, object, detail)};
      }
      return {make_error_code(errc::not_found), fmt::format("object {} not found", object)};
    }
    // The server's hash of the body differs from the one we sent: damaged in transit, or a
    // store that computes x-amz-checksum-* differently.
    if (body.code == "BadDigest" || body.code == "XAmzContentSHA256Mismatch" ||
        body.code == "XAmzContentChecksumMismatch" || body.code == "InvalidDigest") {
      return {make_error_code(errc::io),
              fmt::format("S3 rejected {} {}: the body's checksum did not match ({}); the data was "
                          "damaged on the way, or this S3-compatible store checks checksums "
                          "differently (then set storage.upload_checksum: sha256)",
                          method, object, detail)};
    }
    if (r.status == 412 || r.status == 409) {
      return {make_error_code(errc::conflict),
              fmt::format("{} {}: a precondition failed ({}); the object already exists or "
                          "changed",
                          method, object, detail)};
    }
    if (r.status == 416) {
      return {make_error_code(errc::invalid_argument),
              fmt::format("{} {}: the range is past the end of the object ({})", method, object,
                          detail)};
    }
    return {make_error_code(errc::io), fmt::format("{} {} failed: {}", method, object, detail)};
  }

  static bool retryable(const http_response& r) {
    if (r.aborted == abort_reason::stalled) return true;
    if (r.code != CURLE_OK) return retryable_curl(r.code);
    if (r.status >= 500 || r.status == 429) return true;
    if (r.status == 400) {
      const auto code = parse_error_body(r.body).code;
      return code == "RequestTimeout" || code == "SlowDown";
    }
    return false;
  }

  /// Signs and sends with bounded, jittered retries. `key` is for messages only. The body's
  /// SHA-256 is signed unless `unsigned_body` (the caller then sends a checksum header instead).
  result<http_response> execute(const std::string& method, std::string_view key, const std::string& path,
                                header_list query, header_list headers, byte_view body,
                                bool unsigned_body = false) {
    const std::string payload_hash =
        unsigned_body ? std::string(sigv4::unsigned_payload)
                      : body.empty() ? std::string(sigv4::empty_payload_hash) : sigv4::sha256_hex(body);
    const std::string url = fmt::format("{}://{}{}{}{}", scheme_, host_, sigv4::canonical_uri(path),
                                        query.empty() ? "" : "?", sigv4::canonical_query(query));
    sigv4::options sign_opts;
    sign_opts.region = options_.region;
    http_response last;
    retry_settings rs;
    rs.initial_backoff = options_.initial_backoff;
    rs.max_backoff = options_.max_backoff;
    rs.budget = options_.retry_budget;
    rs.max_attempts = options_.max_attempts;
    std::uint64_t seed = 0;
    {
      std::lock_guard lock(rng_mutex_);
      seed = rng_();
    }
    retry_policy policy(rs, [] { return std::chrono::steady_clock::now(); }, seed);
    const std::string object = key.empty() ? describe() : fmt::format("'{}' in {}", key, describe());
    for (int attempt = 0;; ++attempt) {
      sigv4::request req{method, host_, path, query, headers, payload_hash};
      aws_credentials creds;
      if (options_.credential_source) {
        auto current = options_.credential_source->current();
        if (!current) return tl::unexpected(current.error());
        creds = std::move(*current);
      } else {
        creds = options_.credentials;
      }
      const sigv4::signature sig = sigv4::sign(req, creds, sign_opts, options_.clock());
      header_list all = headers;
      all.emplace_back("Host", host_);
      all.insert(all.end(), sig.headers_to_add.begin(), sig.headers_to_add.end());
      log::debug("s3: {} {} (attempt {})", method, url, attempt + 1);
      last = perform(method, url, all, body);
      if (last.code == CURLE_OK && last.status >= 200 && last.status < 300) return last;
      if (!retryable(last)) break;
      const auto retry_after = parse_retry_after(last.header("retry-after"), std::chrono::system_clock::now());
      const auto delay = policy.next_delay(retry_after);
      const kb::error cause = to_error(last, method, key);
      if (!delay) {
        return fail(cause.code, fmt::format("{}; {}", cause.message,
                                            giving_up_text(policy.attempts(), policy.elapsed())));
      }
      log::warn("s3: {} {} failed on attempt {} ({}); retrying in {:.1f} s (storage.retry_budget_ms {} ms, "
                "{:.1f} s used)",
                method, object, policy.attempts(), cause.message, static_cast<double>(delay->count()) / 1000.0,
                options_.retry_budget.count(), static_cast<double>(policy.elapsed().count()) / 1000.0);
      if (!interrupt::sleep_for(*delay)) {
        return fail(errc::cancelled,
                    fmt::format("{} {} was not retried: interrupted by signal {} after {} ({})", method, object,
                                interrupt::first_signal(), giving_up_text(policy.attempts(), policy.elapsed()),
                                cause.message));
      }
    }
    return tl::unexpected(to_error(last, method, key));
  }

  s3_options options_;
  std::string scheme_;
  std::string host_;
  handle_pool handles_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_{std::random_device{}()};
};

s3_writer::s3_writer(s3_store& store, std::string key) : store_(store), key_(std::move(key)) {}

result<void> s3_writer::write(byte_view chunk) {
  if (finished_) return fail(errc::internal, fmt::format("write to '{}' after commit or abort", key_));
  const std::size_t part_size = store_.options().part_size;
  while (!chunk.empty()) {
    if (buffer_.capacity() < part_size) buffer_.reserve(part_size);
    const std::size_t n = std::min(chunk.size(), part_size - buffer_.size());
    buffer_.insert(buffer_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    chunk = chunk.subspan(n);
    written_ += n;
    // A full part is sent only once more data follows, so the last part is never empty.
    if (buffer_.size() == part_size && !chunk.empty()) {
      if (auto ok = flush_part(); !ok) {
        abort();
        return ok;
      }
    }
  }
  return {};
}

result<void> s3_writer::flush_part() {
  if (upload_id_.empty()) {
    auto id = store_.create_multipart(key_);
    if (!id) return tl::unexpected(id.error());
    upload_id_ = std::move(*id);
  }
  while (in_flight_.size() >= std::max<std::size_t>(1, store_.options().max_parallel_parts)) {
    if (auto ok = wait_oldest(); !ok) return ok;
  }
  auto data = std::make_shared<byte_vector>(std::move(buffer_));
  buffer_ = byte_vector();
  const int number = next_part_++;
  part p;
  p.number = number;
  p.done = std::async(std::launch::async, [this, data, number] {
    return store_.upload_part(key_, upload_id_, number, *data);
  });
  in_flight_.push_back(std::move(p));
  return {};
}

result<void> s3_writer::wait_oldest() {
  part p = std::move(in_flight_.front());
  in_flight_.pop_front();
  auto uploaded = p.done.get();
  if (!uploaded) return tl::unexpected(uploaded.error());
  done_.push_back(std::move(*uploaded));
  return {};
}

result<void> s3_writer::commit() {
  if (finished_) return fail(errc::internal, fmt::format("commit of '{}' after commit or abort", key_));
  if (upload_id_.empty()) {
    finished_ = true;
    return store_.put_single(key_, buffer_, false);
  }
  if (!buffer_.empty()) {
    if (auto ok = flush_part(); !ok) {
      abort();
      return ok;
    }
  }
  while (!in_flight_.empty()) {
    if (auto ok = wait_oldest(); !ok) {
      abort();
      return ok;
    }
  }
  std::sort(done_.begin(), done_.end());
  auto ok = store_.complete_multipart(key_, upload_id_, done_);
  if (!ok) {
    abort();
    return ok;
  }
  finished_ = true;
  upload_id_.clear();
  return {};
}

void s3_writer::abort() noexcept {
  if (finished_) return;
  finished_ = true;
  for (auto& p : in_flight_) {
    if (p.done.valid()) p.done.wait();
  }
  in_flight_.clear();
  if (!upload_id_.empty()) {
    store_.abort_multipart(key_, upload_id_);
    upload_id_.clear();
  }
  buffer_.clear();
}

}  // namespace

std::string s3_crc32c_checksum(byte_view body) {
  const std::uint32_t crc = kb::crc32c(body);
  const std::uint8_t be[4] = {static_cast<std::uint8_t>(crc >> 24), static_cast<std::uint8_t>(crc >> 16),
                              static_cast<std::uint8_t>(crc >> 8), static_cast<std::uint8_t>(crc)};
  return base64_4(be);
}

result<std::unique_ptr<object_store>> make_s3_store(s3_options options) {
  if (options.bucket.empty()) return fail(errc::config, "S3 storage needs a bucket (storage.bucket)");
  if (options.part_size < s3_min_part_size) {
    return fail(errc::config, fmt::format("S3 part size {} is below the S3 minimum of 5 MiB ({} bytes)",
                                          options.part_size, s3_min_part_size));
  }
  if (!options.endpoint.empty() && !options.endpoint.starts_with("http://") &&
      !options.endpoint.starts_with("https://")) {
    return fail(errc::config, fmt::format("S3 endpoint '{}' must start with http:// or https://",
                                          options.endpoint));
  }
  if (!options.credential_source &&
      (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty())) {
    return fail(errc::config, "S3 storage needs an access key and a secret key");
  }
  return std::unique_ptr<object_store>(std::make_unique<s3_store>(std::move(options)));
}

}  // namespace kb::storage
