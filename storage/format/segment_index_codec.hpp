// Encoding and checked decoding of the `.kbs` header, index and trailer (internal to storage/format).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "storage/format/segment_index.hpp"

namespace kb::storage::format::detail {

[[nodiscard]] std::uint64_t xxh3(byte_view b) noexcept;

/// The frame's time range as the writer records it: the smallest batch first_timestamp and the
/// largest batch max_timestamp (-1 when no batch carries one).
void widen_frame_times(frame_entry& f, const batch_entry& b) noexcept;

void write_header(byte_vector& out, const segment_header& h, int level);
[[nodiscard]] byte_vector encode_index(const segment_index& idx, std::uint32_t header_length);
void write_trailer(byte_vector& out, std::uint64_t index_offset, std::uint64_t index_length,
                   std::uint64_t index_xxh3, std::uint64_t file_xxh3,
                   std::uint16_t version = segment_format_version);

struct trailer_fields {
  std::uint64_t index_offset = 0;
  std::uint64_t index_length = 0;
  std::uint64_t index_xxh3 = 0;
  std::uint64_t file_xxh3 = 0;
  std::uint16_t version = segment_format_version;
};

/// `what` names the segment in errors. Errors are errc::corrupt (errc::unsupported for a newer version).
[[nodiscard]] kb::result<trailer_fields> parse_trailer(byte_view t, std::uint64_t file_size, std::string_view what);

/// Parses the index bytes and checks that they describe a consistent segment whose frames end
/// exactly at `index_offset`.
[[nodiscard]] kb::result<segment_index> parse_index(byte_view bytes, std::uint64_t index_offset,
                                                    std::string_view what, std::uint32_t& header_length_out,
                                                    std::uint16_t trailer_version = segment_format_version);

/// The header's copy of the frame filter is the index's: the caller sets `filter` from there.
[[nodiscard]] kb::result<segment_header> parse_header(byte_view b, std::string_view what,
                                                      std::uint16_t trailer_version = segment_format_version);

}  // namespace kb::storage::format::detail
