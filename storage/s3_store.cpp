#include "storage/s3_store.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/base64.hpp"
#include "base/crc32c.hpp"
#include "base/log.hpp"
#include "base/url.hpp"
#include "storage/s3_client.hpp"
#include "storage/s3_response.hpp"
#include "storage/s3_upload.hpp"
#include "storage/xml.hpp"

namespace kb::storage {
namespace {

/// The object store over one bucket and prefix; requests go through s3::client, uploads
/// through storage/s3_upload.
class s3_store final : public object_store {
 public:
  explicit s3_store(s3_options options) : client_(std::move(options)) {}

  result<void> put(std::string_view key, byte_view data) override {
    if (auto ok = validate_key(key); !ok) return ok;
    if (data.size() > client_.options().part_size) return s3::put_multipart(client_, key, data);
    return s3::put_object(client_, key, data, false);
  }

  result<void> put(std::string_view key, byte_pieces pieces) override {
    if (auto ok = validate_key(key); !ok) return ok;
    if (pieces_size(pieces) > client_.options().part_size) return s3::put_multipart(client_, key, pieces);
    return s3::put_object(client_, key, pieces, false);
  }

  result<void> put_if_absent(std::string_view key, byte_view data) override {
    if (auto ok = validate_key(key); !ok) return ok;
    return s3::put_object(client_, key, data, true);
  }

  result<byte_vector> get(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    // A whole object is checked against the CRC32C the store keeps (we upload with one): a
    // manifest or checkpoint damaged on the way may still parse, with a wrong offset in it.
    // A mismatch is read again; ranged segment reads rely on the segment's own checksums.
    std::string why;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      byte_vector out;
      auto resp = client_.execute(
          {"GET", key, client_.object_path(key), {}, {{"x-amz-checksum-mode", "ENABLED"}}, {}, false, &out});
      if (!resp) return tl::unexpected(resp.error());
      const std::string kept = resp->header("x-amz-checksum-crc32c");
      // "…-N" is a multipart object's checksum of part checksums: not the body's own.
      if (kept.empty() || kept.find('-') != std::string::npos || resp->header("x-amz-checksum-type") == "COMPOSITE")
        return out;
      const std::string got = s3_crc32c_checksum(out);
      if (got == kept) return out;
      why = fmt::format("the body read ({} bytes, CRC32C {}) does not match the CRC32C the store keeps ({})",
                        out.size(), got, kept);
      log::warn("s3: GET {}: {} on attempt {}; reading it again", client_.object_text(key), why, attempt);
    }
    return fail(errc::corrupt, fmt::format("S3 GET {}: {} on 3 reads: damaged in the store or on every way from it; "
                                           "check the object (validate --deep) and the network path",
                                           client_.object_text(key), why));
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
    auto resp = client_.execute({"GET", key, client_.object_path(key), {},
                                 {{"Range", fmt::format("bytes={}-{}", offset, last)}}, {}, false, &out});
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
    auto resp = client_.execute({"HEAD", key, client_.object_path(key)});
    if (!resp) return tl::unexpected(resp.error());
    return s3::parse_head(resp->headers, client_.object_text(key));
  }

  result<std::vector<std::string>> list_prefixes(std::string_view prefix) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    if (!prefix.empty() && prefix.back() != '/') {
      return fail(errc::invalid_argument,
                  fmt::format("list_prefixes needs a folder prefix ending in '/', got '{}'", prefix));
    }
    const std::string& root = client_.options().prefix;
    std::vector<std::string> out;
    auto ok = list_pages(prefix, {}, true, [&](const xml::element& page) -> result<void> {
      for (const xml::element* cp : page.children_named("CommonPrefixes")) {
        std::string p = cp->child_text("Prefix");
        if (p.starts_with(root)) out.push_back(p.substr(root.size()));
      }
      return {};
    });
    if (!ok) return tl::unexpected(ok.error());
    std::sort(out.begin(), out.end());
    return out;
  }

  result<void> remove(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return ok;
    auto resp = client_.execute({"DELETE", key, client_.object_path(key)});
    if (!resp && !resp.error().is(errc::not_found)) return tl::unexpected(resp.error());
    return {};
  }

  result<std::unique_ptr<object_writer>> open_writer(std::string_view key) override {
    if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
    return s3::make_writer(client_, std::string(key));
  }

  [[nodiscard]] std::string describe() const override { return client_.describe(); }

  result<stale_cleanup> cleanup_stale(std::string_view prefix, std::chrono::system_clock::time_point before,
                                      const std::vector<std::string>& keep) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    const std::string& root = client_.options().prefix;
    std::vector<s3::multipart_upload> stale;
    std::string key_marker;
    std::string id_marker;
    for (int page_no = 0; page_no < 100000; ++page_no) {
      http_headers query{{"uploads", ""}, {"prefix", root + std::string(prefix)}, {"max-uploads", "1000"}};
      if (!key_marker.empty()) query.emplace_back("key-marker", key_marker);
      if (!id_marker.empty()) query.emplace_back("upload-id-marker", id_marker);
      auto resp = client_.execute({"GET", prefix, client_.bucket_path(), std::move(query)});
      if (!resp) return tl::unexpected(resp.error());
      auto doc = xml::parse(resp->body);
      if (!doc) return tl::unexpected(doc.error());
      auto uploads = s3::parse_multipart_uploads(*doc);
      if (!uploads) return tl::unexpected(uploads.error());
      for (auto& u : *uploads) {
        if (!u.key.starts_with(root) || u.initiated >= before) continue;
        const std::string rel = u.key.substr(root.size());
        if (std::any_of(keep.begin(), keep.end(), [&](const std::string& k) { return rel.starts_with(k); })) continue;
        stale.push_back(std::move(u));
      }
      if (doc->child_text("IsTruncated") != "true") break;
      key_marker = doc->child_text("NextKeyMarker");
      id_marker = doc->child_text("NextUploadIdMarker");
      if (key_marker.empty()) {
        return fail(errc::protocol, fmt::format("ListMultipartUploads of {} said the listing is truncated but "
                                                "gave no NextKeyMarker",
                                                describe()));
      }
    }
    stale_cleanup out;
    for (const auto& u : stale) {
      const std::string rel = u.key.substr(root.size());
      auto resp = client_.execute({"DELETE", rel, client_.bucket_path() + u.key, {{"uploadId", u.upload_id}}});
      if (!resp && !resp.error().is(errc::not_found)) return tl::unexpected(resp.error());
      out.removed.push_back(rel);
    }
    return out;
  }

 protected:
  result<std::vector<object_info>> do_list(std::string_view prefix, const list_options& options) override {
    if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
    std::vector<object_info> out;
    auto ok = list_pages(prefix, options.start_after, false, [&](const xml::element& page) -> result<void> {
      auto entries = s3::parse_list_page(page, client_.options().prefix);
      if (!entries) return tl::unexpected(entries.error());
      out.insert(out.end(), std::make_move_iterator(entries->begin()), std::make_move_iterator(entries->end()));
      return {};
    });
    if (!ok) return tl::unexpected(ok.error());
    std::sort(out.begin(), out.end(), [](const object_info& a, const object_info& b) { return a.key < b.key; });
    return out;
  }

 private:
  /// ListObjectsV2 page by page (continuation tokens), each page handed to `on_page`.
  template <class OnPage>
  result<void> list_pages(std::string_view prefix, std::string_view start_after, bool delimited, OnPage&& on_page) {
    const std::string& root = client_.options().prefix;
    std::string token;
    for (int page_no = 0; page_no < 1000000; ++page_no) {
      http_headers query{{"list-type", "2"},
                         {"prefix", root + std::string(prefix)},
                         {"max-keys", std::to_string(client_.options().list_page_size)}};
      if (delimited) query.emplace_back("delimiter", "/");
      if (!token.empty()) {
        query.emplace_back("continuation-token", token);
      } else if (!start_after.empty()) {
        query.emplace_back("start-after", root + std::string(start_after));
      }
      auto resp = client_.execute({"GET", prefix, client_.bucket_path(), std::move(query)});
      if (!resp) return tl::unexpected(resp.error());
      auto doc = xml::parse(resp->body);
      if (!doc) return tl::unexpected(doc.error());
      if (auto ok = on_page(*doc); !ok) return ok;
      if (doc->child_text("IsTruncated") != "true") return {};
      token = doc->child_text("NextContinuationToken");
      if (token.empty()) {
        return fail(errc::protocol, fmt::format("ListObjectsV2 of {} said the listing is truncated but gave no "
                                                "continuation token",
                                                describe()));
      }
    }
    return fail(errc::internal, "ListObjectsV2 did not end");
  }

  s3::client client_;
};

}  // namespace

std::string s3_crc32c_checksum(byte_view body) { return s3_crc32c_of(kb::crc32c(body)); }

std::string s3_crc32c_of(std::uint32_t crc) {
  const std::uint8_t be[4] = {static_cast<std::uint8_t>(crc >> 24), static_cast<std::uint8_t>(crc >> 16),
                              static_cast<std::uint8_t>(crc >> 8), static_cast<std::uint8_t>(crc)};
  return base64_encode(byte_view(be, 4));
}

result<std::unique_ptr<object_store>> make_s3_store(s3_options options) {
  if (options.bucket.empty()) return fail(errc::config, "S3 storage needs a bucket (storage.bucket)");
  if (options.part_size < s3_min_part_size) {
    return fail(errc::config, fmt::format("S3 part size {} is below the S3 minimum of 5 MiB ({} bytes)",
                                          options.part_size, s3_min_part_size));
  }
  if (!options.endpoint.empty()) {
    auto u = url::parse_http_url(options.endpoint);
    if (!u) {
      return fail(errc::config, fmt::format("S3 endpoint '{}' must be an http:// or https:// URL: {}",
                                            url::redact(options.endpoint), u.error().message));
    }
    if (!u->path.empty() || u->has_query || u->has_fragment) {
      return fail(errc::config, fmt::format("S3 endpoint '{}' must not have a path (the bucket goes in "
                                            "storage.bucket or the s3:// URL)",
                                            options.endpoint));
    }
  }
  if (!options.credential_source &&
      (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty())) {
    return fail(errc::config, "S3 storage needs an access key and a secret key");
  }
  return std::unique_ptr<object_store>(std::make_unique<s3_store>(std::move(options)));
}

}  // namespace kb::storage
