// Fixed sizes and magics of the `.kbs` byte layout (docs/format.md), shared by the writer, the
// readers and the tests that patch bytes on purpose.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace kb::storage::format::layout {

inline constexpr std::array<std::uint8_t, 4> header_magic{'K', 'B', 'S', 'G'};
inline constexpr std::array<std::uint8_t, 4> index_magic{'K', 'B', 'I', 'X'};
inline constexpr std::array<std::uint8_t, 4> trailer_magic{'K', 'B', 'S', 'E'};

/// magic 4, version 2, codec 1, level 1, header_length 4, partition 4, created_ms 8, topic_length 2
inline constexpr std::size_t header_fixed_size = 26;
/// magic 4, version 2, codec 1, reserved 1, header_length 4, partition 4, created_ms 8,
/// four counts 16, topic_length 2
inline constexpr std::size_t index_fixed_size = 42;
inline constexpr std::size_t frame_entry_size = 64;
inline constexpr std::size_t batch_entry_size = 64;
inline constexpr std::size_t txn_entry_size = 28;
inline constexpr std::size_t gap_entry_size = 16;
/// index_offset 8, index_length 8, index_xxh3 8, file_xxh3 8, trailer_xxh3 8, version 2,
/// trailer_length 2, magic 4
inline constexpr std::size_t trailer_size = 48;
inline constexpr std::size_t trailer_checksum_at = 32;
inline constexpr std::size_t trailer_version_at = 40;

inline constexpr std::uint32_t max_batch_bytes = 1u << 30;
inline constexpr std::uint32_t max_frame_raw_bytes = 1u << 31;
inline constexpr std::size_t max_topic_bytes = 65535;

}  // namespace kb::storage::format::layout
