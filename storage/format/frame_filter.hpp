// Frame filters: reversible rewrites of a frame's raw bytes applied before compression (format
// version 2). Storage knows a filter by its id; the program installs the code that runs it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::storage::format {

/// Filter ids in a version-2 segment's index. Id 1 is protocol/records/batch_columns, which
/// splits uncompressed Kafka batches into columns (installed by pipeline::install_frame_filters).
inline constexpr std::uint8_t no_frame_filter = 0;
inline constexpr std::uint8_t batch_columns_filter = 1;

/// Whether this build knows what `id` means (a segment naming another id is from a newer version).
[[nodiscard]] bool known_frame_filter(std::uint8_t id) noexcept;
/// The largest filtered form of `raw_size` bytes that a reader accepts.
[[nodiscard]] constexpr std::uint64_t max_filtered_size(std::uint64_t raw_size) noexcept {
  return raw_size + raw_size / 2 + 64;
}

struct frame_filter {
  std::string_view name;
  /// Writes into `filtered` (cleared first; its memory is reused from frame to frame) at most
  /// max_filtered_size(raw.size()) bytes that `decode` turns back into `raw`.
  void (*encode)(byte_view raw, byte_vector& filtered) = nullptr;
  /// Exactly `raw_size` bytes or an error.
  kb::result<byte_vector> (*decode)(byte_view filtered, std::size_t raw_size) = nullptr;
};

/// Makes `filter` the code of a known `id`; call before any segment is written or read.
void install_frame_filter(std::uint8_t id, const frame_filter& filter);
/// The installed code of `id`, or errc::unsupported naming what is missing.
[[nodiscard]] kb::result<const frame_filter*> find_frame_filter(std::uint8_t id);

}  // namespace kb::storage::format
