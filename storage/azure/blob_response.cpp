#include "storage/azure/blob_response.hpp"

#include <fmt/format.h>

#include "base/base64.hpp"
#include "storage/s3_response.hpp"
#include "storage/xml.hpp"

namespace kb::storage::azure {

result<list_page> parse_list_page(std::string_view body, std::string_view store_prefix) {
  auto doc = xml::parse(body);
  if (!doc) return tl::unexpected(doc.error());
  if (doc->name != "EnumerationResults") {
    return fail(errc::protocol, fmt::format("List Blobs answered <{}>, not <EnumerationResults>", doc->name));
  }
  list_page out;
  out.next_marker = doc->child_text("NextMarker");
  const xml::element* blobs = doc->child("Blobs");
  if (blobs == nullptr) return out;
  for (const xml::element* b : blobs->children_named("Blob")) {
    std::string name = b->child_text("Name");
    if (name.empty()) return fail(errc::protocol, "List Blobs returned a <Blob> without a <Name>");
    if (!name.starts_with(store_prefix)) continue;
    const xml::element* props = b->child("Properties");
    if (props == nullptr) {
      return fail(errc::protocol, fmt::format("List Blobs returned blob '{}' without <Properties>", name));
    }
    auto size = s3::parse_size(props->child_text("Content-Length"), fmt::format("the size of blob '{}'", name));
    if (!size) return tl::unexpected(size.error());
    object_info info;
    info.key = name.substr(store_prefix.size());
    info.size = *size;
    info.etag = props->child_text("Etag");
    if (info.etag.size() >= 2 && info.etag.front() == '"' && info.etag.back() == '"') {
      info.etag = info.etag.substr(1, info.etag.size() - 2);
    }
    out.blobs.push_back(std::move(info));
  }
  for (const xml::element* p : blobs->children_named("BlobPrefix")) {
    std::string name = p->child_text("Name");
    if (name.starts_with(store_prefix)) out.prefixes.push_back(name.substr(store_prefix.size()));
  }
  return out;
}

error_body parse_error_body(std::string_view body) {
  error_body out;
  if (body.empty()) return out;
  auto doc = xml::parse(body);
  if (!doc || doc->name != "Error") return out;
  out.code = doc->child_text("Code");
  out.message = doc->child_text("Message");
  // The service appends "\nRequestId:...\nTime:..." to messages: keep the first line.
  if (const auto nl = out.message.find('\n'); nl != std::string::npos) out.message.resize(nl);
  return out;
}

std::string block_list_xml(const std::vector<std::string>& block_ids) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  for (const auto& id : block_ids) out += "<Latest>" + xml::escape(id) + "</Latest>";
  out += "</BlockList>";
  return out;
}

std::string block_id(std::string_view upload_tag, int index) {
  std::string raw(upload_tag.substr(0, 16));
  raw.resize(16, '0');
  raw += fmt::format("{:08d}", index);  // 24 bytes: base64 without padding
  return base64_encode(byte_view(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
}

}  // namespace kb::storage::azure
