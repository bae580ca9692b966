// Reads `.kbs` segments: the whole file verified, or only its index and single frames by range reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "storage/format/segment_index.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::storage::format {

/// Parses and verifies a whole segment (every checksum, version, index consistency).
/// Errors are errc::corrupt naming what is wrong (or errc::unsupported for a newer version).
[[nodiscard]] kb::result<segment_index> parse_segment(byte_view segment);

/// Reads only the trailer and index of a stored segment (two range reads), verifying the
/// index checksum; `size` from a listing or head saves a round trip when known.
[[nodiscard]] kb::result<segment_index> read_segment_index(object_store& store, std::string_view key,
                                                           std::optional<std::uint64_t> size = {});

/// Reads one frame with a range read, checks its XXH3 and returns its raw batches.
[[nodiscard]] kb::result<byte_vector> read_frame(object_store& store, std::string_view key,
                                                 const segment_index& index, std::uint32_t frame);

/// `{first:020}-{last:020}.kbs`
[[nodiscard]] std::string segment_file_name(std::int64_t first_offset, std::int64_t last_offset);

}  // namespace kb::storage::format
