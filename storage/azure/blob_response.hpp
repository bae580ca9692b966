// Reading and writing the Blob service's XML: List Blobs pages (blobs, prefixes, NextMarker),
// error bodies, Put Block List bodies, and the fixed-length block ids of one upload.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "storage/object_store.hpp"

namespace kb::storage::azure {

struct list_page {
  std::vector<object_info> blobs;     ///< relative to the store prefix; blobs outside it skipped
  std::vector<std::string> prefixes;  ///< <BlobPrefix> names relative to the store prefix
  std::string next_marker;            ///< empty: the last page
};

/// One List Blobs page (EnumerationResults). Each blob needs a Name and a readable
/// Content-Length; errc::protocol otherwise.
result<list_page> parse_list_page(std::string_view body, std::string_view store_prefix);

struct error_body {
  std::string code;
  std::string message;
};
/// <Error><Code/><Message/></Error>; empty fields when the body is not one.
error_body parse_error_body(std::string_view body);

/// The Put Block List body committing `block_ids` (base64) in order.
std::string block_list_xml(const std::vector<std::string>& block_ids);

/// The base64 id of block `index` of the upload `upload_tag`: every id of one blob must have
/// the same length, so both parts are fixed-width (the tag is cut or padded to 16 characters).
std::string block_id(std::string_view upload_tag, int index);

}  // namespace kb::storage::azure
