#include "storage/azure/blob_store.hpp"

#include <algorithm>
#include <ctime>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <random>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "base/base64.hpp"
#include "base/log.hpp"
#include "base/url.hpp"
#include "storage/azure/blob_api.hpp"
#include "storage/azure/blob_response.hpp"
#include "storage/s3_response.hpp"

namespace kb::storage::azure {
namespace {

using query_list = http_headers;

std::string sha256_base64(byte_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return base64_encode(byte_view(md, len));
}

byte_view bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class blob_store;

class blob_writer final : public object_writer {
 public:
  blob_writer(blob_store& store, std::string key, std::string tag)
      : store_(store), key_(std::move(key)), tag_(std::move(tag)) {}
  ~blob_writer() override { abort(); }
  result<void> write(byte_view chunk) override;
  result<void> commit() override;
  void abort() noexcept override;
  [[nodiscard]] std::uint64_t bytes_written() const noexcept override { return written_; }

 private:
  result<void> flush_block();
  result<void> wait_oldest();

  blob_store& store_;
  std::string key_;
  std::string tag_;
  byte_vector buffer_;
  std::deque<std::future<result<void>>> in_flight_;
  std::vector<std::string> ids_;
  std::uint64_t written_ = 0;
  bool finished_ = false;
};

class blob_store final : public object_store {
 public:
  explicit blob_store(blob_options options) : api_(std::move(options)) {}

  [[nodiscard]] const blob_options& options() const noexcept { return api_.options(); }

  result<void> put(std::string_view key, byte_view data) override {
    if (auto ok = validate_key(key); !ok) return ok;
    if (data.size() > options().block_size) return put_blocks(key, data);
    return put_single(key, data, false);
  }

  result<void> put(std::string_view key, byte_pieces pieces) override {
    if (auto ok = validate_key(key); !ok) return ok;
    if (pieces_size(pieces) > options().block_size) return put_blocks(key, pieces);
    return put_single(key, pieces, false);
  }

  result<void> put_if_absent(std::string_view key, byte_view data) override {
    if (auto ok = validate_key(key); !ok) return ok;
    return put_single(key, data, true);
  }

  result<void> put_single(std::string_view key, byte_view data, bool if_absent) {
    return put_single(key, byte_pieces(&data, 1), if_absent);
  }

  /// One Put Blob whose body is the pieces sent back to back.
  result<void> put_single(std::string_view key, byte_pieces data, bool if_absent) {
    http_headers headers = write_headers();
    headers.emplace_back("x-ms-blob-type", "BlockBlob");
    headers.emplace_back("Content-Type", "application/octet-stream");
    // Azure checks the body against it and keeps it: a whole-blob read is compared with it.
    headers.emplace_back("Content-MD5", pieces_md5_base64(data));
    if (if_absent) headers.emplace_back("If-None-Match", "*");
    auto resp = api_.execute("PUT", key, api_.blob_path(key), {}, headers, data);
    if (!resp) return tl::unexpected(resp.error());
    return {};
  }

  result<void> put_blocks(std::string_view key, byte_view data) { return put_blocks(key, byte_pieces(&data, 1)); }

  /// A whole object in memory as blocks, sent straight from where its pieces lie (a block may
  /// span pieces: no copy).
  result<void> put_blocks(std::string_view key, byte_pieces data) {
    const std::vector<std::vector<byte_view>> blocks = split_parts(data, options().block_size);
    const std::string name(key);
    const std::string tag = new_tag();
    const std::size_t parallel = std::max<std::size_t>(1, options().max_parallel_blocks);
    std::deque<std::future<result<void>>> in_flight;
    std::vector<std::string> ids;
    std::optional<kb::error> failed;
    auto wait_oldest = [&] {
      auto r = in_flight.front().get();
      in_flight.pop_front();
      if (!r && !failed) failed = r.error();
    };
    int index = 0;
    for (std::size_t i = 0; i < blocks.size() && !failed; ++i, ++index) {
      while (in_flight.size() >= parallel && !failed) wait_oldest();
      if (failed) break;
      const byte_pieces piece(blocks[i]);
      ids.push_back(block_id(tag, index));
      in_flight.push_back(std::async(std::launch::async, [this, &name, id = ids.back(), piece] {
        return put_block(name, id, piece);
      }));
    }
    while (!in_flight.empty()) wait_oldest();
    if (failed) return tl::unexpected(*failed);
    return put_block_list(key, ids);
  }

  result<void> put_block(const std::string& key, const std::string& id, byte_pieces data) {
    auto resp =
        api_.execute("PUT", key, api_.blob_path(key), {{"comp", "block"}, {"blockid", id}}, write_headers(), data);
    if (!resp) return tl::unexpected(resp.error());
    return {};
  }

  result<void> put_block_list(std::string_view key, const std::vector<std::string>& ids) {
    const std::string body = block_list_xml(ids);
    http_headers headers = write_headers();
    headers.emplace_back("Content-Type", "application/xml");
    headers.emplace_back("x-ms-blob-content-type", "application/octet-stream");
    const byte_view list = bytes_of(body);
    auto resp = api_.execute("PUT", key, api_.blob_path(key), {{"comp", "blocklist"}}, headers, byte_pieces(&list, 1));
    if (!resp) return tl::unexpected(resp.error());
    return {};
  }

  result<byte_vector> get(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    // A whole blob is checked against the Content-MD5 Azure keeps (our single-request uploads
    // set it): a manifest or checkpoint damaged on the way may still parse, with a wrong offset
    // in it. A mismatch is read again; ranged segment reads rely on the segment's checksums.
    std::string why;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      byte_vector out;  // the body lands here, not in a string copied after
      auto resp = api_.execute("GET", key, api_.blob_path(key), {}, read_headers(), {}, &out);
      if (!resp) return tl::unexpected(resp.error());
      const std::string kept = resp->header("content-md5");
      if (kept.empty()) return out;
      const std::string got = md5_base64(out);
      if (got == kept) return out;
      why = fmt::format("the body read ({} bytes, MD5 {}) does not match the Content-MD5 the store keeps ({})",
                        out.size(), got, kept);
      log::warn("azure: GET '{}' in {}: {} on attempt {}; reading it again", key, describe(), why, attempt);
    }
    return fail(errc::corrupt, fmt::format("Azure GET '{}' in {}: {} on 3 reads: damaged in the store or on every "
                                           "way from it; check the blob (validate --deep) and the network path",
                                           key, describe(), why));
  }

  static std::string md5_base64(byte_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
    return base64_encode(byte_view(digest, len));
  }

  result<byte_vector> get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    if (length == 0) {
      auto meta = head(key);
      if (!meta) return tl::unexpected(meta.error());
      return byte_vector{};
    }
    const std::uint64_t last = length > UINT64_MAX - offset ? UINT64_MAX : offset + length - 1;
    http_headers headers = read_headers();
    headers.emplace_back("x-ms-range", fmt::format("bytes={}-{}", offset, last));
    // The range lands straight in the buffer returned (no second copy from a string).
    byte_vector out;
    out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(length, 64u << 20)));
    auto resp = api_.execute("GET", key, api_.blob_path(key), {}, headers, {}, &out);
    if (!resp) return tl::unexpected(resp.error());
    if (resp->status == 200 && offset > 0) {
      // A server that ignored the range sent the whole blob: cut it here.
      if (offset >= out.size()) {
        return fail(errc::invalid_argument, fmt::format("range at offset {} is past the end of '{}'", offset, key));
      }
      out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    if (out.empty()) {
      // Azure answers a range past the end with 416; Azurite with 206 and "bytes 1000-999/1000".
      const std::string cr = resp->header("content-range");
      const auto slash = cr.rfind('/');
      if (slash != std::string::npos) {
        try {
          if (offset >= std::stoull(cr.substr(slash + 1))) {
            return fail(errc::invalid_argument, fmt::format("range at offset {} is past the end of '{}'", offset, key));
          }
        } catch (const std::exception&) {
          // "*" or garbage: an empty answer stands
        }
      }
    }
    if (out.size() > length) out.resize(static_cast<std::size_t>(length));
    return out;
  }

  result<object_meta> head(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    auto resp = api_.execute("HEAD", key, api_.blob_path(key), {}, read_headers(), {});
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
    auto ok = list_pages(prefix, true, [&](list_page& page) {
      out.insert(out.end(), page.prefixes.begin(), page.prefixes.end());
    });
    if (!ok) return tl::unexpected(ok.error());
    std::sort(out.begin(), out.end());
    return out;
  }

  result<void> remove(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return ok;
    auto resp = api_.execute("DELETE", key, api_.blob_path(key), {}, {}, {});
    if (!resp && !resp.error().is(errc::not_found)) return tl::unexpected(resp.error());
    return {};
  }

  result<std::unique_ptr<object_writer>> open_writer(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    return std::unique_ptr<object_writer>(std::make_unique<blob_writer>(*this, std::string(key), new_tag()));
  }

  [[nodiscard]] std::string describe() const override {
    return api_.describe();
  }

  std::string new_tag() {
    std::lock_guard lock(rng_mutex_);
    return fmt::format("{:016x}", rng_());
  }

 protected:
  result<std::vector<object_info>> do_list(std::string_view prefix, const list_options& options) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    std::vector<object_info> out;
    // List Blobs has no start-after: the marker is opaque, so earlier keys are filtered here.
    auto ok = list_pages(prefix, false, [&](list_page& page) {
      for (auto& b : page.blobs) {
        if (b.key > options.start_after) out.push_back(std::move(b));
      }
    });
    if (!ok) return tl::unexpected(ok.error());
    std::sort(out.begin(), out.end(), [](const object_info& a, const object_info& b) { return a.key < b.key; });
    return out;
  }

 private:
  template <class OnPage>
  result<void> list_pages(std::string_view prefix, bool delimited, OnPage&& on_page) {
    std::string marker;
    for (int page_no = 0; page_no < 1000000; ++page_no) {
      query_list query{{"restype", "container"},
                       {"comp", "list"},
                       {"prefix", options().prefix + std::string(prefix)},
                       {"maxresults", std::to_string(options().list_page_size)}};
      if (delimited) query.emplace_back("delimiter", "/");
      if (!marker.empty()) query.emplace_back("marker", marker);
      auto resp = api_.execute("GET", prefix, api_.container_path(), std::move(query), {}, {});
      if (!resp) return tl::unexpected(resp.error());
      auto page = parse_list_page(resp->body, options().prefix);
      if (!page) {
        return fail(page.error().code, fmt::format("List Blobs of {}: {}", describe(), page.error().message));
      }
      on_page(*page);
      if (page->next_marker.empty()) return {};
      if (page->next_marker == marker) {
        return fail(errc::protocol, fmt::format("List Blobs of {} returned the same NextMarker twice", describe()));
      }
      marker = std::move(page->next_marker);
    }
    return fail(errc::internal, "List Blobs did not end");
  }

  [[nodiscard]] http_headers customer_key_headers() const {
    http_headers out;
    if (!options().customer_key.empty()) {
      out.emplace_back("x-ms-encryption-key", options().customer_key.reveal());
      auto raw = base64_decode(options().customer_key.reveal());
      out.emplace_back("x-ms-encryption-key-sha256", raw ? sha256_base64(*raw) : std::string());
      out.emplace_back("x-ms-encryption-algorithm", "AES256");
    }
    return out;
  }
  [[nodiscard]] http_headers write_headers() const {
    http_headers out = customer_key_headers();
    if (!options().encryption_scope.empty()) out.emplace_back("x-ms-encryption-scope", options().encryption_scope);
    return out;
  }
  [[nodiscard]] http_headers read_headers() const { return customer_key_headers(); }

  /// Sends the requests and maps their errors (storage/azure/blob_api).
  blob_api api_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_{std::random_device{}()};
};

result<void> blob_writer::write(byte_view chunk) {
  if (finished_) return fail(errc::internal, fmt::format("write to '{}' after commit or abort", key_));
  const std::size_t block_size = store_.options().block_size;
  while (!chunk.empty()) {
    if (buffer_.capacity() < block_size) buffer_.reserve(block_size);
    const std::size_t n = std::min(chunk.size(), block_size - buffer_.size());
    buffer_.insert(buffer_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    chunk = chunk.subspan(n);
    written_ += n;
    // A full block is staged only once more data follows, so a small object stays one Put Blob.
    if (buffer_.size() == block_size && !chunk.empty()) {
      if (auto ok = flush_block(); !ok) {
        abort();
        return ok;
      }
    }
  }
  return {};
}

result<void> blob_writer::flush_block() {
  while (in_flight_.size() >= std::max<std::size_t>(1, store_.options().max_parallel_blocks)) {
    if (auto ok = wait_oldest(); !ok) return ok;
  }
  auto data = std::make_shared<byte_vector>(std::move(buffer_));
  buffer_ = byte_vector();
  ids_.push_back(block_id(tag_, static_cast<int>(ids_.size())));
  in_flight_.push_back(std::async(std::launch::async, [this, data, id = ids_.back()] {
    const byte_view block(*data);
    return store_.put_block(key_, id, byte_pieces(&block, 1));
  }));
  return {};
}

result<void> blob_writer::wait_oldest() {
  auto done = in_flight_.front().get();
  in_flight_.pop_front();
  return done;
}

result<void> blob_writer::commit() {
  if (finished_) return fail(errc::internal, fmt::format("commit of '{}' after commit or abort", key_));
  if (ids_.empty()) {
    finished_ = true;
    return store_.put_single(key_, buffer_, false);
  }
  if (!buffer_.empty()) {
    if (auto ok = flush_block(); !ok) {
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
  // Uncommitted blocks stay invisible; Put Block List makes the blob appear at once.
  auto ok = store_.put_block_list(key_, ids_);
  if (!ok) {
    abort();
    return ok;
  }
  finished_ = true;
  return {};
}

void blob_writer::abort() noexcept {
  if (finished_) return;
  finished_ = true;
  for (auto& f : in_flight_) {
    if (f.valid()) f.wait();
  }
  in_flight_.clear();
  // Staged but uncommitted blocks are never visible; the service discards them after a week.
  ids_.clear();
  buffer_.clear();
}

}  // namespace

std::string rfc1123_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT", days[tm.tm_wday], tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

result<std::unique_ptr<object_store>> make_blob_store(blob_options options) {
  if (options.account.empty()) return fail(errc::config, "Azure storage needs an account (storage.account_name)");
  if (options.container.empty()) {
    return fail(errc::config, "Azure storage needs a container (storage.container_name)");
  }
  if (auto u = url::parse_http_url(options.endpoint); !u) {
    return fail(errc::config, fmt::format("Azure endpoint '{}' must be an http:// or https:// URL "
                                          "(storage.endpoint): {}",
                                          url::redact(options.endpoint), u.error().message));
  }
  switch (options.auth) {
    case auth_mode::shared_key:
      if (options.account_key.empty()) return fail(errc::config, "Azure SharedKey auth needs storage.account_key");
      if (!base64_decode(options.account_key.reveal())) {
        return fail(errc::config, fmt::format("the account key of Azure storage account '{}' is not valid base64; "
                                              "copy it again from the portal (Access keys) into "
                                              "storage.account_key or AZURE_STORAGE_KEY",
                                              options.account));
      }
      break;
    case auth_mode::sas:
      if (options.sas_token.empty()) return fail(errc::config, "Azure SAS auth needs storage.sas_token");
      break;
    case auth_mode::bearer:
      if (!options.token) return fail(errc::internal, "Azure AD auth without a token provider");
      break;
  }
  if (!options.customer_key.empty()) {
    auto raw = base64_decode(options.customer_key.reveal());
    if (!raw || raw->size() != 32) {
      return fail(errc::config, "storage.customer_provided_key must be a base64 AES-256 key (32 bytes); "
                                "generate one with: openssl rand -base64 32");
    }
  }
  if (options.block_size < (1u << 20)) {
    return fail(errc::config, fmt::format("Azure block size {} is below 1 MiB", options.block_size));
  }
  return std::unique_ptr<object_store>(std::make_unique<blob_store>(std::move(options)));
}

}  // namespace kb::storage::azure
