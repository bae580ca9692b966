#include "storage/gcs/gcs_store.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/base64.hpp"
#include "base/crc32c.hpp"
#include "base/log.hpp"
#include "base/url.hpp"
#include "storage/gcs/gcs_api.hpp"
#include "storage/gcs/gcs_json.hpp"

namespace kb::storage::gcs {
namespace {

namespace json = boost::json;

std::string crc32c_base64(std::uint32_t crc) {
  // GCS's crc32c: base64 of the CRC's 4 big-endian bytes (of a running CRC, so not s3_crc32c_checksum).
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(crc >> 24), static_cast<std::uint8_t>(crc >> 16),
                             static_cast<std::uint8_t>(crc >> 8), static_cast<std::uint8_t>(crc)};
  return base64_encode(byte_view(b, 4));
}

class gcs_store;

class gcs_writer final : public object_writer {
 public:
  gcs_writer(gcs_store& store, std::string key) : store_(store), key_(std::move(key)) {}
  ~gcs_writer() override { abort(); }
  result<void> write(byte_view chunk) override;
  result<void> commit() override;
  void abort() noexcept override;
  [[nodiscard]] std::uint64_t bytes_written() const noexcept override { return written_; }

 private:
  result<void> send_chunk(bool last);

  gcs_store& store_;
  std::string key_;
  byte_vector buffer_;
  std::string session_;
  std::uint64_t sent_ = 0;  ///< bytes the server holds in the session
  std::uint64_t written_ = 0;
  std::uint32_t crc_ = 0;
  bool finished_ = false;
};

class gcs_store final : public object_store {
 public:
  explicit gcs_store(gcs_options options) : api_(std::move(options)) {}

  [[nodiscard]] const gcs_options& options() const noexcept { return api_.options(); }

  result<void> put(std::string_view key, byte_view data) override { return put(key, byte_pieces(&data, 1)); }

  result<void> put(std::string_view key, byte_pieces pieces) override {
    if (auto ok = validate_key(key); !ok) return ok;
    if (pieces_size(pieces) > options().chunk_size) return put_resumable(key, pieces);
    return put_multipart(key, pieces, false);
  }

  result<void> put_if_absent(std::string_view key, byte_view data) override {
    if (auto ok = validate_key(key); !ok) return ok;
    return put_multipart(key, data, true);
  }

  result<void> put_multipart(std::string_view key, byte_view data, bool if_absent) {
    return put_multipart(key, byte_pieces(&data, 1), if_absent);
  }

  /// One request: JSON metadata (name, crc32c the server verifies) and the media (its pieces).
  result<void> put_multipart(std::string_view key, byte_pieces data, bool if_absent) {
    json::object meta{{"name", object_name(key)}, {"crc32c", crc32c_base64(pieces_crc32c(data))}};
    static constexpr std::string_view boundary = "kafka_backup_gcs_part_boundary_7c1f";
    const std::string head = fmt::format("--{}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--{}\r\n"
                                   "Content-Type: application/octet-stream\r\n\r\n",
                                   boundary, json::serialize(meta), boundary);
    const std::string tail = fmt::format("\r\n--{}--\r\n", boundary);
    std::string url = fmt::format("{}/upload/storage/v1/b/{}/o?uploadType=multipart", options().endpoint,
                                  url_encode(options().bucket));
    if (if_absent) url += "&ifGenerationMatch=0";
    url += kms_query();
    // Metadata, media and closing boundary as one body of pieces: the object itself is not copied.
    call c{"POST", url, {{"Content-Type", fmt::format("multipart/related; boundary={}", boundary)}}, {}, key, true};
    c.body.push_back(as_bytes(head));
    for (const byte_view p : data)
      if (!p.empty()) c.body.push_back(p);
    c.body.push_back(as_bytes(tail));
    auto resp = api_.execute(c);
    if (!resp) return tl::unexpected(resp.error());
    return {};
  }

  result<byte_vector> get(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    // A whole object is checked against the crc32c GCS keeps (X-Goog-Hash): a manifest or
    // checkpoint damaged on the way may still parse, with a wrong offset in it. A mismatch is
    // read again; ranged segment reads rely on the segment's own checksums.
    std::string why;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      byte_vector out;
      call c{"GET", object_url(key) + "?alt=media", {}, {}, key};
      c.download = &out;
      auto resp = api_.execute(c);
      if (!resp) return tl::unexpected(resp.error());
      const std::string kept = stored_crc32c(*resp);
      if (kept.empty()) return out;
      const std::string got = crc32c_base64(kb::crc32c(out));
      if (got == kept) return out;
      why = fmt::format("the body read ({} bytes, crc32c {}) does not match the crc32c the store keeps ({})",
                        out.size(), got, kept);
      log::warn("gcs: GET '{}' in {}: {} on attempt {}; reading it again", key, describe(), why, attempt);
    }
    return fail(errc::corrupt, fmt::format("GCS GET '{}' in {}: {} on 3 reads: damaged in the store or on every way "
                                           "from it; check the object (validate --deep) and the network path",
                                           key, describe(), why));
  }

  /// The crc32c of X-Goog-Hash (one header per hash, or one comma-separated list); empty if none.
  static std::string stored_crc32c(const http_response_data& r) {
    for (const auto& [name, value] : r.headers) {
      if (name != "x-goog-hash") continue;
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        if (item.substr(0, 7) == "crc32c=") return std::string(item.substr(7));
      }
    }
    return {};
  }

  result<byte_vector> get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    if (length == 0) {
      auto meta = head(key);
      if (!meta) return tl::unexpected(meta.error());
      return byte_vector{};
    }
    const std::uint64_t last = length > UINT64_MAX - offset ? UINT64_MAX : offset + length - 1;
    byte_vector out;
    out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(length, 64u << 20)));
    call c{"GET", object_url(key) + "?alt=media", {{"Range", fmt::format("bytes={}-{}", offset, last)}}, {}, key};
    c.download = &out;
    auto resp = api_.execute(c);
    if (!resp) return tl::unexpected(resp.error());
    if (resp->status == 200 && offset > 0) {
      // A server that ignored Range sent the whole object: cut it here.
      if (offset >= out.size()) {
        return fail(errc::invalid_argument, fmt::format("range at offset {} is past the end of '{}'", offset, key));
      }
      out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    if (out.size() > length) out.resize(static_cast<std::size_t>(length));
    return out;
  }

  result<object_meta> head(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    auto resp = api_.execute({"GET", object_url(key), {}, {}, key});
    if (!resp) return tl::unexpected(resp.error());
    boost::system::error_code ec;
    const auto doc = json::parse(resp->body, ec);
    if (ec || !doc.is_object()) {
      return fail(errc::protocol, fmt::format("GCS sent unreadable metadata for '{}' in {}", key, describe()));
    }
    object_meta out;
    out.size = size_member(doc.as_object());
    out.etag = string_member(doc.as_object(), "etag");
    return out;
  }

  result<std::vector<std::string>> list_prefixes(std::string_view prefix) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    if (!prefix.empty() && prefix.back() != '/') {
      return fail(errc::invalid_argument, fmt::format("list_prefixes needs a folder prefix ending in '/', got '{}'", prefix));
    }
    std::vector<std::string> out;
    auto ok = list_pages(prefix, {}, true, [&](const json::object& page) {
      if (const auto* ps = page.if_contains("prefixes"); ps && ps->is_array()) {
        for (const auto& p : ps->as_array()) {
          if (!p.is_string()) continue;
          const std::string full(p.as_string());
          if (full.starts_with(options().prefix)) out.push_back(full.substr(options().prefix.size()));
        }
      }
    });
    if (!ok) return tl::unexpected(ok.error());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  result<void> remove(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return ok;
    auto resp = api_.execute({"DELETE", object_url(key), {}, {}, key});
    if (!resp && !resp.error().is(errc::not_found)) return tl::unexpected(resp.error());
    return {};
  }

  result<std::unique_ptr<object_writer>> open_writer(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    return std::unique_ptr<object_writer>(std::make_unique<gcs_writer>(*this, std::string(key)));
  }

  [[nodiscard]] std::string describe() const override {
    return api_.describe();
  }

  // --- resumable uploads, used by gcs_writer and for pieces larger than a chunk -------------

  /// A whole object larger than one chunk through a resumable session, each chunk sent from
  /// where its pieces lie (a chunk may span pieces: no copy).
  result<void> put_resumable(std::string_view key, byte_pieces pieces) {
    auto session = start_resumable(key);
    if (!session) return tl::unexpected(session.error());
    const std::uint64_t total = pieces_size(pieces);
    const std::uint32_t crc = pieces_crc32c(pieces);
    const auto chunks = split_parts(pieces, options().chunk_size);
    std::uint64_t sent = 0;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      const bool last = i + 1 == chunks.size();
      auto ok = send_whole_chunk(key, *session, sent, chunks[i], last ? std::optional(total) : std::nullopt, crc);
      if (!ok) {
        cancel_resumable(key, *session);
        return ok;
      }
    }
    return {};
  }

  /// Sends one chunk starting at `sent` until the server holds all of it (it may keep less than
  /// was sent: 308 with a shorter Range, then the rest goes again); `sent` moves past it.
  result<void> send_whole_chunk(std::string_view key, const std::string& session, std::uint64_t& sent,
                                byte_pieces chunk, std::optional<std::uint64_t> total, std::uint32_t crc) {
    const std::uint64_t base = sent;
    const std::uint64_t end = base + pieces_size(chunk);
    for (int round = 0; round < 8; ++round) {
      const std::vector<byte_view> rest = drop_front(chunk, sent - base);
      auto held = send_chunk(key, session, sent, rest, total, crc);
      if (!held) return tl::unexpected(held.error());
      if (*held >= end) {
        sent = end;
        return {};
      }
      if (*held < sent) {
        return fail(errc::io, fmt::format("GCS lost part of the resumable upload of '{}' (holds {} bytes, {} were "
                                          "confirmed)",
                                          key, *held, sent));
      }
      sent = *held;
    }
    return fail(errc::io, fmt::format("GCS kept refusing part of the resumable upload of '{}'", key));
  }

  /// The pieces without their first `n` bytes.
  static std::vector<byte_view> drop_front(byte_pieces pieces, std::uint64_t n) {
    std::vector<byte_view> out;
    for (byte_view p : pieces) {
      const auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(n, p.size()));
      n -= skip;
      p = p.subspan(skip);
      if (!p.empty()) out.push_back(p);
    }
    return out;
  }

  result<std::string> start_resumable(std::string_view key) {
    const json::object meta{{"name", object_name(key)}};
    const std::string body = json::serialize(meta);
    const std::string url = fmt::format("{}/upload/storage/v1/b/{}/o?uploadType=resumable", options().endpoint,
                                        url_encode(options().bucket)) + kms_query();
    auto resp = api_.execute({"POST", url, {{"Content-Type", "application/json; charset=UTF-8"},
                                       {"X-Upload-Content-Type", "application/octet-stream"}},
                         {as_bytes(body)}, key, true});
    if (!resp) return tl::unexpected(resp.error());
    std::string session = resp->header("location");
    if (session.empty()) {
      return fail(errc::protocol, fmt::format("GCS started no resumable upload for '{}' in {} (no Location header)",
                                              key, describe()));
    }
    return session;
  }

  /// Sends bytes [start, start + data.size()) of a session; `total` set on the last chunk.
  /// Returns how many bytes the server holds afterwards.
  result<std::uint64_t> send_chunk(std::string_view key, const std::string& session, std::uint64_t start,
                                   byte_pieces data, std::optional<std::uint64_t> total, std::uint32_t crc) {
    const std::uint64_t length = pieces_size(data);
    http_headers headers;
    const std::string size = total ? std::to_string(*total) : "*";
    if (length == 0) {
      headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
    } else {
      headers.emplace_back("Content-Range", fmt::format("bytes {}-{}/{}", start, start + length - 1, size));
    }
    if (total) headers.emplace_back("X-Goog-Hash", "crc32c=" + crc32c_base64(crc));
    call c{"PUT", session, std::move(headers), {}, key, false, true};
    for (const byte_view p : data)
      if (!p.empty()) c.body.push_back(p);
    auto resp = api_.execute(c);
    if (!resp) return tl::unexpected(resp.error());
    if (resp->status != 308) return start + length;
    // 308: "Range: bytes=0-N" says what the server holds (absent: nothing).
    const std::string range = resp->header("range");
    if (range.empty()) return std::uint64_t{0};
    const auto dash = range.find('-');
    std::uint64_t last = 0;
    for (std::size_t i = dash + 1; dash != std::string::npos && i < range.size() && range[i] >= '0' && range[i] <= '9'; ++i) {
      last = last * 10 + static_cast<std::uint64_t>(range[i] - '0');
    }
    return last + 1;
  }

  void cancel_resumable(std::string_view key, const std::string& session) noexcept {
    // GCS answers 499 to a cancelled session; an abandoned one expires after a week anyway.
    auto r = api_.send_plain(http_request{"DELETE", session, {}, {}});
    if (r.failure != http_failure::none) {
      log::debug("gcs: cancelling the resumable upload of '{}' in {} failed: {}", key, describe(), r.failure_text);
    }
  }

 protected:
  result<std::vector<object_info>> do_list(std::string_view prefix, const list_options& options) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    std::vector<object_info> out;
    auto ok = list_pages(prefix, options.start_after, false, [&](const json::object& page) {
      if (const auto* items = page.if_contains("items"); items && items->is_array()) {
        for (const auto& item : items->as_array()) {
          if (!item.is_object()) continue;
          const auto& o = item.as_object();
          const std::string name = string_member(o, "name");
          if (!name.starts_with(api_.options().prefix)) continue;
          object_info info{name.substr(api_.options().prefix.size()), size_member(o), string_member(o, "etag")};
          if (!options.start_after.empty() && info.key <= options.start_after) continue;
          out.push_back(std::move(info));
        }
      }
    });
    if (!ok) return tl::unexpected(ok.error());
    std::sort(out.begin(), out.end(), [](const object_info& a, const object_info& b) { return a.key < b.key; });
    return out;
  }

 private:
  template <class OnPage>
  result<void> list_pages(std::string_view prefix, std::string_view start_after, bool delimited, OnPage&& on_page) {
    std::string token;
    for (int page_no = 0; page_no < 1000000; ++page_no) {
      std::string url = fmt::format("{}/storage/v1/b/{}/o?prefix={}&maxResults={}", options().endpoint,
                                    url_encode(options().bucket), url_encode(options().prefix + std::string(prefix)),
                                    options().list_page_size);
      if (delimited) url += "&delimiter=%2F";
      if (!start_after.empty()) url += "&startOffset=" + url_encode(options().prefix + std::string(start_after));
      if (!token.empty()) url += "&pageToken=" + url_encode(token);
      auto resp = api_.execute({"GET", url, {}, {}, {}, true});
      if (!resp) return tl::unexpected(resp.error());
      boost::system::error_code ec;
      const auto doc = json::parse(resp->body, ec);
      if (ec || !doc.is_object()) {
        return fail(errc::protocol, fmt::format("GCS sent an unreadable listing of {}", describe()));
      }
      on_page(doc.as_object());
      const std::string next = string_member(doc.as_object(), "nextPageToken");
      if (next.empty()) return {};
      if (next == token) {
        return fail(errc::protocol, fmt::format("GCS listing of {} repeated its page token", describe()));
      }
      token = next;
    }
    return fail(errc::internal, "GCS listing did not end");
  }

  [[nodiscard]] std::string object_name(std::string_view key) const { return options().prefix + std::string(key); }
  [[nodiscard]] std::string object_url(std::string_view key) const {
    return fmt::format("{}/storage/v1/b/{}/o/{}", options().endpoint, url_encode(options().bucket),
                       url_encode(object_name(key)));
  }
  [[nodiscard]] std::string kms_query() const {
    return options().kms_key_name.empty() ? std::string() : "&kmsKeyName=" + url_encode(options().kms_key_name);
  }

  gcs_api api_;
};

result<void> gcs_writer::write(byte_view chunk) {
  if (finished_) return fail(errc::internal, fmt::format("write to '{}' after commit or abort", key_));
  const std::size_t chunk_size = store_.options().chunk_size;
  crc_ = kb::crc32c_extend(crc_, chunk);
  written_ += chunk.size();
  while (!chunk.empty()) {
    if (buffer_.capacity() < chunk_size) buffer_.reserve(chunk_size);
    const std::size_t n = std::min(chunk.size(), chunk_size - buffer_.size());
    buffer_.insert(buffer_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    chunk = chunk.subspan(n);
    // A full chunk goes out only once more data follows, so the last request carries data.
    if (buffer_.size() == chunk_size && !chunk.empty()) {
      if (auto ok = send_chunk(false); !ok) {
        abort();
        return ok;
      }
    }
  }
  return {};
}

result<void> gcs_writer::send_chunk(bool last) {
  if (session_.empty()) {
    auto s = store_.start_resumable(key_);
    if (!s) return tl::unexpected(s.error());
    session_ = std::move(*s);
  }
  const byte_view chunk(buffer_);
  auto ok = store_.send_whole_chunk(key_, session_, sent_, byte_pieces(&chunk, chunk.empty() ? 0 : 1),
                                    last ? std::optional(written_) : std::nullopt, crc_);
  if (ok) buffer_.clear();
  return ok;
}

result<void> gcs_writer::commit() {
  if (finished_) return fail(errc::internal, fmt::format("commit of '{}' after commit or abort", key_));
  if (session_.empty()) {
    // Small enough for one request: no session needed.
    finished_ = true;
    return store_.put_multipart(key_, buffer_, false);
  }
  if (auto ok = send_chunk(true); !ok) {
    abort();
    return ok;
  }
  finished_ = true;
  session_.clear();
  return {};
}

void gcs_writer::abort() noexcept {
  if (finished_) return;
  finished_ = true;
  if (!session_.empty()) {
    store_.cancel_resumable(key_, session_);
    session_.clear();
  }
  buffer_.clear();
}

}  // namespace

result<std::unique_ptr<object_store>> make_gcs_store(gcs_options options) {
  if (options.bucket.empty()) return fail(errc::config, "GCS storage needs a bucket (storage.bucket)");
  if (options.chunk_size == 0 || options.chunk_size % chunk_granularity != 0) {
    return fail(errc::config, fmt::format("GCS upload chunk size {} is not a positive multiple of 256 KiB",
                                          options.chunk_size));
  }
  if (auto u = url::parse_http_url(options.endpoint); !u) {
    return fail(errc::config, fmt::format("GCS endpoint '{}' must be an http:// or https:// URL: {}",
                                          url::redact(options.endpoint), u.error().message));
  }
  return std::unique_ptr<object_store>(std::make_unique<gcs_store>(std::move(options)));
}

}  // namespace kb::storage::gcs
