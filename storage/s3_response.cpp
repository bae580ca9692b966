#include "storage/s3_response.hpp"

#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "storage/utc_time.hpp"

namespace kb::storage::s3 {
namespace {

std::string strip_quotes(std::string text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') return text.substr(1, text.size() - 2);
  return text;
}

}  // namespace

result<std::uint64_t> parse_size(std::string_view text, std::string_view what) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return fail(errc::protocol,
                fmt::format("malformed S3 response: {} is {}; the endpoint is not a working S3 server or a "
                            "proxy changed the answer",
                            what, text.empty() ? "missing" : fmt::format("'{}', not a size", text)));
  }
  return value;
}

result<object_meta> parse_head(const headers& h, std::string_view object) {
  std::optional<std::string> length;
  object_meta meta;
  for (const auto& [name, value] : h) {
    if (name == "content-length") length = value;
    if (name == "etag") meta.etag = strip_quotes(value);
  }
  auto size = parse_size(length.value_or(""), fmt::format("the Content-Length of HeadObject {}", object));
  if (!size) return tl::unexpected(size.error());
  meta.size = *size;
  return meta;
}

result<std::vector<object_info>> parse_list_page(const xml::element& page, std::string_view store_prefix) {
  std::vector<object_info> out;
  for (const xml::element* c : page.children_named("Contents")) {
    std::string key = c->child_text("Key");
    if (!key.starts_with(store_prefix)) continue;
    auto size = parse_size(c->child_text("Size"), fmt::format("the <Size> of '{}' in ListObjectsV2", key));
    if (!size) return tl::unexpected(size.error());
    object_info info;
    info.key = key.substr(store_prefix.size());
    info.size = *size;
    info.etag = strip_quotes(c->child_text("ETag"));
    out.push_back(std::move(info));
  }
  return out;
}

result<std::vector<multipart_upload>> parse_multipart_uploads(const xml::element& page) {
  std::vector<multipart_upload> out;
  for (const xml::element* u : page.children_named("Upload")) {
    multipart_upload m;
    m.key = u->child_text("Key");
    m.upload_id = u->child_text("UploadId");
    const std::string initiated = u->child_text("Initiated");
    const auto at = parse_iso8601_utc(initiated);
    if (m.key.empty() || m.upload_id.empty() || !at) {
      return fail(errc::protocol,
                  fmt::format("malformed S3 response: an <Upload> of ListMultipartUploads lacks a Key, an "
                              "UploadId or a readable Initiated time (key '{}', initiated '{}')",
                              m.key, initiated));
    }
    m.initiated = *at;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace kb::storage::s3
