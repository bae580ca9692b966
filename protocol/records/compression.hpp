// Kafka's compression codecs (attributes bits 0-2): none, gzip, snappy (raw and xerial
// "snappy-java" framing), lz4 (LZ4 frame, KIP-57 legacy header checksum) and zstd.
// Decompression output is bounded so a hostile batch cannot exhaust memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::protocol {

/// The codec id stored in a record batch's attributes (bits 0-2).
enum class compression_codec : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

/// "none", "gzip", "snappy", "lz4", "zstd" (or "unknown").
[[nodiscard]] std::string_view to_string(compression_codec codec) noexcept;

/// Parses a codec id from batch attributes; ids 5-7 are rejected.
[[nodiscard]] result<compression_codec> codec_from_id(int id);

/// Decompressed output larger than this is refused (errc::corrupt).
inline constexpr std::size_t max_decompressed_bytes = std::size_t{256} << 20;

/// Level meaning "the codec's own default" (gzip 6, zstd 3, lz4 fast mode); snappy has none.
inline constexpr int default_compression_level = -1000;

/// Compresses `data` the way a Kafka producer would: gzip stream, xerial-framed snappy,
/// LZ4 frame (64 KiB independent blocks), zstd frame.
[[nodiscard]] result<byte_vector> compress(compression_codec codec, byte_view data,
                                           int level = default_compression_level);

struct decompress_options {
  std::size_t size_hint = 0;                     ///< expected output size, a reservation only
  std::size_t max_output = max_decompressed_bytes;
  bool lz4_legacy_header_checksum = false;       ///< accept magic-0 LZ4 frames' bad HC (KIP-57)
};

/// Decompresses data written by any Kafka client. Snappy input may be raw or xerial-framed.
[[nodiscard]] result<byte_vector> decompress(compression_codec codec, byte_view data,
                                             std::size_t size_hint = 0);
[[nodiscard]] result<byte_vector> decompress(compression_codec codec, byte_view data,
                                             const decompress_options& options);

/// Raw (unframed) snappy, for tests and peers that expect it.
[[nodiscard]] result<byte_vector> snappy_compress_raw(byte_view data);

/// XXH32 with the given seed (used for LZ4 frame header checksums).
[[nodiscard]] std::uint32_t xxh32(byte_view data, std::uint32_t seed) noexcept;

}  // namespace kb::protocol
