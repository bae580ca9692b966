// A body given as pieces sent back to back (a segment's header, frames, index and trailer), with
// what every backend needs of it without joining it: its size, its parts, its CRC-32C and MD5.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.hpp"

namespace kb::storage {

/// The concatenation of the pieces, in order; empty pieces count for nothing.
using byte_pieces = std::span<const byte_view>;

/// The bytes of all pieces.
[[nodiscard]] std::uint64_t pieces_size(byte_pieces pieces) noexcept;

/// The pieces cut into parts of `part_size` bytes (the last one shorter), each part a list of
/// views into the pieces: a part may end inside a piece and the next start there; no byte is
/// copied, empty pieces are dropped. No parts for an empty body. `part_size` > 0.
[[nodiscard]] std::vector<std::vector<byte_view>> split_parts(byte_pieces pieces, std::size_t part_size);

/// One buffer holding the pieces in order (for stores that cannot send pieces, and tests).
[[nodiscard]] byte_vector join_pieces(byte_pieces pieces);

/// CRC-32C of the concatenation, continued from `crc` (0 to start).
[[nodiscard]] std::uint32_t pieces_crc32c(byte_pieces pieces, std::uint32_t crc = 0) noexcept;

/// The base64 MD5 digest of the concatenation (Azure's Content-MD5).
[[nodiscard]] std::string pieces_md5_base64(byte_pieces pieces);

/// The hex SHA-256 of the concatenation (SigV4's payload hash).
[[nodiscard]] std::string pieces_sha256_hex(byte_pieces pieces);

}  // namespace kb::storage
