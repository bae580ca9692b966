#include "storage/s3_response.hpp"

#include <charconv>
#include <ctime>
#include <optional>

#include <fmt/format.h>

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

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* rest = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  std::chrono::milliseconds fraction{0};
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    std::int64_t ms = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3) ms = ms * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    if (digits == 0) return std::nullopt;
    for (int d = digits; d < 3; ++d) ms *= 10;
    fraction = std::chrono::milliseconds(ms);
  }
  if (std::string_view(rest) != "Z" && std::string_view(rest) != "+00:00") return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&tm)) + fraction;
}

result<std::vector<multipart_upload>> parse_multipart_uploads(const xml::element& page) {
  std::vector<multipart_upload> out;
  for (const xml::element* u : page.children_named("Upload")) {
    multipart_upload m;
    m.key = u->child_text("Key");
    m.upload_id = u->child_text("UploadId");
    const std::string initiated = u->child_text("Initiated");
    const auto at = parse_iso8601(initiated);
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
