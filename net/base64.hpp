// Standard base64 (RFC 4648 §4, with padding), strict on decode: used by SCRAM messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"

namespace kb::net {

[[nodiscard]] std::string base64_encode(byte_view data);
/// nullopt unless `text` is canonical padded base64 (length multiple of 4, alphabet only,
/// '=' only at the end, unused bits zero).
[[nodiscard]] std::optional<byte_vector> base64_decode(std::string_view text);

}  // namespace kb::net
