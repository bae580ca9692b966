// Reading S3 responses into store values: HeadObject headers, ListObjectsV2 and
// ListMultipartUploads pages. A field that must be there and is missing or unreadable is a
// malformed response (errc::protocol), never a silent zero.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "storage/object_store.hpp"
#include "storage/xml.hpp"

namespace kb::storage::s3 {

/// Response headers, names lower-case.
using headers = std::vector<std::pair<std::string, std::string>>;

/// A decimal size as S3 sends it (Content-Length, <Size>); errc::protocol naming `what` when
/// absent, signed, partial or out of range.
[[nodiscard]] result<std::uint64_t> parse_size(std::string_view text, std::string_view what);

/// HeadObject: Content-Length (required) and ETag (quotes removed). `object` names the object.
[[nodiscard]] result<object_meta> parse_head(const headers& h, std::string_view object);

/// The <Contents> of one ListObjectsV2 page whose keys start with `store_prefix`, made relative
/// to it; keys outside the prefix are skipped. Each needs a readable <Size>.
[[nodiscard]] result<std::vector<object_info>> parse_list_page(const xml::element& page,
                                                               std::string_view store_prefix);

/// One in-progress multipart upload of a ListMultipartUploads page.
struct multipart_upload {
  std::string key;        ///< full key in the bucket
  std::string upload_id;
  std::chrono::system_clock::time_point initiated;
};

/// The <Upload> entries of a ListMultipartUploads page; each needs Key, UploadId and an
/// ISO 8601 <Initiated>.
[[nodiscard]] result<std::vector<multipart_upload>> parse_multipart_uploads(const xml::element& page);

}  // namespace kb::storage::s3
