// Base64 for the storage backends: standard (RFC 4648 §4, padded) and URL-safe (§5, unpadded,
// as JWTs use it); strict decoding of the standard form (SharedKey account keys, Content-MD5).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"

namespace kb {

[[nodiscard]] std::string base64_encode(byte_view data);
/// nullopt unless `text` is canonical padded base64 (length a multiple of 4, alphabet only,
/// '=' only at the end, unused bits zero).
[[nodiscard]] std::optional<byte_vector> base64_decode(std::string_view text);
/// URL-safe alphabet ('-' and '_'), no padding: JWT segments.
[[nodiscard]] std::string base64url_encode(byte_view data);

}  // namespace kb
