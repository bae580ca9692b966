// Frame codecs of the `.kbs` segment: compress and decompress one frame of raw batches.
#pragma once

#include <cstdint>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::storage::format {

enum class frame_codec : std::uint8_t { none = 0, lz4 = 1, zstd = 2 };

/// "none", "lz4", "zstd" (for messages).
[[nodiscard]] const char* frame_codec_name(frame_codec c) noexcept;

/// Compresses one frame's raw bytes, after rewriting them with frame filter `filter`
/// (frame_filter.hpp: `no_frame_filter`, or an installed filter with a compressing codec). The
/// filter is the segment header's, and it has no default so that no caller can forget it.
/// Pure and thread-safe: the worker pool calls it.
[[nodiscard]] kb::result<byte_vector> encode_frame(frame_codec codec, int level, byte_view raw,
                                                   std::uint8_t filter);
/// The inverse; `raw_size` comes from the frame_entry and bounds the output.
[[nodiscard]] kb::result<byte_vector> decode_frame(frame_codec codec, byte_view stored,
                                                   std::uint32_t raw_size, std::uint8_t filter);
/// The same for a stored frame the caller gives up (a ranged read): `none` hands the buffer
/// back as the raw frame instead of copying it.
[[nodiscard]] kb::result<byte_vector> decode_frame(frame_codec codec, byte_vector&& stored,
                                                   std::uint32_t raw_size, std::uint8_t filter);

}  // namespace kb::storage::format
