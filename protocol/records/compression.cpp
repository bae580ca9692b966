#include "protocol/records/compression.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

namespace kb::protocol {

namespace {

constexpr std::size_t initial_chunk = 64 * 1024;

// xerial snappy-java stream header: magic, then version and minimum compatible version
// (big-endian int32 each), then chunks of [int32 big-endian length][raw snappy block].
constexpr std::array<std::uint8_t, 8> xerial_magic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
constexpr std::size_t xerial_header_size = 16;
constexpr std::size_t xerial_block_size = std::size_t{32} * 1024;  // snappy-java's default block size

constexpr std::uint32_t lz4_frame_magic = 0x184D2204u;

void put_be32(byte_vector& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

std::uint32_t get_be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::uint32_t get_le32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) | p[0];
}

tl::unexpected<error> too_large(compression_codec codec, std::size_t limit) {
  return fail(errc::corrupt, fmt::format("{} data decompresses to more than {} bytes; refusing (the batch is "
                                         "corrupt or hostile)",
                                         to_string(codec), limit));
}

// Grows `out` so that at least one more byte fits, within `limit`. False when at the limit.
bool grow(byte_vector& out, std::size_t used, std::size_t limit) {
  if (used < out.size()) return true;
  if (out.size() >= limit) return false;
  const std::size_t next = std::min(limit, std::max(out.size() * 2, initial_chunk));
  out.resize(next);
  return true;
}

std::size_t first_size(std::size_t hint, std::size_t limit) {
  return std::min(limit, std::max<std::size_t>(hint, 1024));
}

// ---- gzip ------------------------------------------------------------------------------

result<byte_vector> gzip_compress(byte_view data, int level) {
  if (level == default_compression_level) level = Z_DEFAULT_COMPRESSION;
  if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION) {
    return fail(errc::invalid_argument, fmt::format("gzip level {} is outside -1..9", level));
  }
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return fail(errc::internal, "gzip: deflateInit2 failed");
  }
  byte_vector out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const std::size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return fail(errc::internal, fmt::format("gzip: deflate returned {}", rc));
  out.resize(produced);
  return out;
}

result<byte_vector> gzip_decompress(byte_view data, const decompress_options& opt) {
  z_stream zs{};
  // 15 + 32: accept gzip and zlib headers.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return fail(errc::internal, "gzip: inflateInit2 failed");
  byte_vector out(first_size(opt.size_hint, opt.max_output));
  std::size_t used = 0;
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  for (;;) {
    if (!grow(out, used, opt.max_output)) {
      inflateEnd(&zs);
      return too_large(compression_codec::gzip, opt.max_output);
    }
    const std::size_t room = std::min<std::size_t>(out.size() - used, 1u << 30);
    zs.next_out = out.data() + used;
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    used += room - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Concatenated gzip members (GZIPInputStream reads them all).
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return fail(errc::corrupt, "gzip: compressed data is truncated");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflateEnd(&zs);
      return fail(errc::corrupt, fmt::format("gzip: corrupt compressed data (zlib error {})", rc));
    }
  }
  inflateEnd(&zs);
  out.resize(used);
  return out;
}

// ---- snappy ----------------------------------------------------------------------------

result<byte_vector> snappy_compress_xerial(byte_view data) {
  byte_vector out;
  out.reserve(xerial_header_size + snappy::MaxCompressedLength(data.size()) + 4 * (data.size() / xerial_block_size + 1));
  out.insert(out.end(), xerial_magic.begin(), xerial_magic.end());
  put_be32(out, 1);  // version
  put_be32(out, 1);  // minimum compatible version
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t n = std::min(xerial_block_size, data.size() - pos);
    const std::size_t len_at = out.size();
    put_be32(out, 0);
    out.resize(len_at + 4 + snappy::MaxCompressedLength(n));
    std::size_t written = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(data.data() + pos), n,
                        reinterpret_cast<char*>(out.data() + len_at + 4), &written);
    out.resize(len_at + 4 + written);
    const auto w = static_cast<std::uint32_t>(written);
    out[len_at] = static_cast<std::uint8_t>(w >> 24);
    out[len_at + 1] = static_cast<std::uint8_t>(w >> 16);
    out[len_at + 2] = static_cast<std::uint8_t>(w >> 8);
    out[len_at + 3] = static_cast<std::uint8_t>(w);
    pos += n;
  }
  return out;
}

// Appends one raw snappy block to `out`.
result<void> snappy_raw_append(byte_view block, byte_vector& out, std::size_t limit) {
  std::size_t n = 0;
  if (!snappy::GetUncompressedLength(reinterpret_cast<const char*>(block.data()), block.size(), &n)) {
    return fail(errc::corrupt, "snappy: corrupt block header");
  }
  if (n > limit || out.size() + n > limit) return too_large(compression_codec::snappy, limit);
  const std::size_t at = out.size();
  out.resize(at + n);
  if (!snappy::RawUncompress(reinterpret_cast<const char*>(block.data()), block.size(),
                             reinterpret_cast<char*>(out.data() + at))) {
    return fail(errc::corrupt, "snappy: corrupt compressed data");
  }
  return {};
}

result<byte_vector> snappy_decompress(byte_view data, const decompress_options& opt) {
  byte_vector out;
  const bool xerial = data.size() >= xerial_header_size &&
                      std::memcmp(data.data(), xerial_magic.data(), xerial_magic.size()) == 0;
  if (!xerial) {
    if (auto r = snappy_raw_append(data, out, opt.max_output); !r) return fail(r.error());
    return out;
  }
  out.reserve(std::min(opt.size_hint, opt.max_output));
  std::size_t pos = xerial_header_size;
  while (pos < data.size()) {
    if (data.size() - pos < 4) return fail(errc::corrupt, "snappy: xerial chunk length is truncated");
    const std::uint32_t len = get_be32(data.data() + pos);
    pos += 4;
    if (len > data.size() - pos) return fail(errc::corrupt, "snappy: xerial chunk is truncated");
    if (auto r = snappy_raw_append(data.subspan(pos, len), out, opt.max_output); !r) return fail(r.error());
    pos += len;
  }
  return out;
}

// ---- lz4 -------------------------------------------------------------------------------

result<byte_vector> lz4_compress(byte_view data, int level) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.compressionLevel = level == default_compression_level ? 0 : level;
  byte_vector out(LZ4F_compressFrameBound(data.size(), &prefs));
  const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
  if (LZ4F_isError(n)) return fail(errc::internal, fmt::format("lz4: {}", LZ4F_getErrorName(n)));
  out.resize(n);
  return out;
}

// Offset of the HC byte in an LZ4 frame header, or 0 if the header is too short or not LZ4.
std::size_t lz4_hc_offset(byte_view data) noexcept {
  if (data.size() < 7 || get_le32(data.data()) != lz4_frame_magic) return 0;
  const std::uint8_t flg = data[4];
  std::size_t at = 6;
  if (flg & 0x08u) at += 8;  // content size
  if (flg & 0x01u) at += 4;  // dictionary id
  return at < data.size() ? at : 0;
}

result<byte_vector> lz4_decompress(byte_view data, const decompress_options& opt) {
  byte_vector patched;
  if (opt.lz4_legacy_header_checksum) {
    // Kafka's magic-0 producers hashed the magic number too; like the Java client we do not
    // trust that byte and replace it with the correct descriptor checksum (KIP-57).
    if (const std::size_t hc = lz4_hc_offset(data); hc != 0) {
      const auto good = static_cast<std::uint8_t>((xxh32(data.subspan(4, hc - 4), 0) >> 8) & 0xFFu);
      if (data[hc] != good) {
        patched.assign(data.begin(), data.end());
        patched[hc] = good;
        data = patched;
      }
    }
  }
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
    return fail(errc::internal, "lz4: cannot create a decompression context");
  }
  byte_vector out(first_size(opt.size_hint, opt.max_output));
  std::size_t used = 0;
  std::size_t in_pos = 0;
  result<byte_vector> res = fail(errc::corrupt, "lz4: compressed data is truncated");
  for (;;) {
    if (!grow(out, used, opt.max_output)) {
      res = too_large(compression_codec::lz4, opt.max_output);
      break;
    }
    std::size_t dst = out.size() - used;
    std::size_t src = data.size() - in_pos;
    const std::size_t rc = LZ4F_decompress(dctx, out.data() + used, &dst, data.data() + in_pos, &src, nullptr);
    if (LZ4F_isError(rc)) {
      res = fail(errc::corrupt, fmt::format("lz4: corrupt compressed data ({})", LZ4F_getErrorName(rc)));
      break;
    }
    used += dst;
    in_pos += src;
    if (rc == 0 && in_pos == data.size()) {
      out.resize(used);
      res = std::move(out);
      break;
    }
    if (in_pos == data.size() && dst == 0 && src == 0) break;  // truncated
  }
  LZ4F_freeDecompressionContext(dctx);
  return res;
}

// ---- zstd ------------------------------------------------------------------------------

result<byte_vector> zstd_compress(byte_view data, int level) {
  if (level == default_compression_level) level = ZSTD_CLEVEL_DEFAULT;
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return fail(errc::invalid_argument,
                fmt::format("zstd level {} is outside {}..{}", level, ZSTD_minCLevel(), ZSTD_maxCLevel()));
  }
  byte_vector out(ZSTD_compressBound(data.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) return fail(errc::internal, fmt::format("zstd: {}", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

result<byte_vector> zstd_decompress(byte_view data, const decompress_options& opt) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return fail(errc::internal, "zstd: cannot create a decompression context");
  std::size_t hint = opt.size_hint;
  if (hint == 0) {
    const unsigned long long content = ZSTD_getFrameContentSize(data.data(), data.size());
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != ZSTD_CONTENTSIZE_ERROR) {
      hint = static_cast<std::size_t>(std::min<unsigned long long>(content, opt.max_output));
    }
  }
  byte_vector out(first_size(hint, opt.max_output));
  std::size_t used = 0;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  result<byte_vector> res = fail(errc::corrupt, "zstd: compressed data is truncated");
  std::size_t last = 1;
  for (;;) {
    if (!grow(out, used, opt.max_output)) {
      res = too_large(compression_codec::zstd, opt.max_output);
      break;
    }
    ZSTD_outBuffer ob{out.data() + used, out.size() - used, 0};
    const std::size_t before_in = in.pos;
    last = ZSTD_decompressStream(dctx, &ob, &in);
    if (ZSTD_isError(last)) {
      res = fail(errc::corrupt, fmt::format("zstd: corrupt compressed data ({})", ZSTD_getErrorName(last)));
      break;
    }
    used += ob.pos;
    if (last == 0 && in.pos == in.size) {
      out.resize(used);
      res = std::move(out);
      break;
    }
    if (in.pos == in.size && ob.pos == 0 && before_in == in.pos) break;  // truncated
  }
  ZSTD_freeDCtx(dctx);
  return res;
}

constexpr std::uint32_t rotl32(std::uint32_t x, int r) noexcept { return (x << r) | (x >> (32 - r)); }

}  // namespace

std::string_view to_string(compression_codec codec) noexcept {
  switch (codec) {
    case compression_codec::none: return "none";
    case compression_codec::gzip: return "gzip";
    case compression_codec::snappy: return "snappy";
    case compression_codec::lz4: return "lz4";
    case compression_codec::zstd: return "zstd";
  }
  return "unknown";
}

result<compression_codec> codec_from_id(int id) {
  if (id < 0 || id > 4) {
    return fail(errc::unsupported, fmt::format("compression codec id {} is not one Kafka defines (0-4)", id));
  }
  return static_cast<compression_codec>(id);
}

result<byte_vector> compress(compression_codec codec, byte_view data, int level) {
  switch (codec) {
    case compression_codec::none: return byte_vector(data.begin(), data.end());
    case compression_codec::gzip: return gzip_compress(data, level);
    case compression_codec::snappy: return snappy_compress_xerial(data);
    case compression_codec::lz4: return lz4_compress(data, level);
    case compression_codec::zstd: return zstd_compress(data, level);
  }
  return fail(errc::unsupported, "unknown compression codec");
}

result<byte_vector> decompress(compression_codec codec, byte_view data, std::size_t size_hint) {
  decompress_options opt;
  opt.size_hint = size_hint;
  return decompress(codec, data, opt);
}

result<byte_vector> decompress(compression_codec codec, byte_view data, const decompress_options& options) {
  switch (codec) {
    case compression_codec::none:
      if (data.size() > options.max_output) return too_large(codec, options.max_output);
      return byte_vector(data.begin(), data.end());
    case compression_codec::gzip: return gzip_decompress(data, options);
    case compression_codec::snappy: return snappy_decompress(data, options);
    case compression_codec::lz4: return lz4_decompress(data, options);
    case compression_codec::zstd: return zstd_decompress(data, options);
  }
  return fail(errc::unsupported, "unknown compression codec");
}

result<byte_vector> snappy_compress_raw(byte_view data) {
  byte_vector out(snappy::MaxCompressedLength(data.size()));
  std::size_t written = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(data.data()), data.size(), reinterpret_cast<char*>(out.data()),
                      &written);
  out.resize(written);
  return out;
}

std::uint32_t xxh32(byte_view data, std::uint32_t seed) noexcept {
  constexpr std::uint32_t p1 = 0x9E3779B1u, p2 = 0x85EBCA77u, p3 = 0xC2B2AE3Du, p4 = 0x27D4EB2Fu,
                          p5 = 0x165667B1u;
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  std::uint32_t h;
  if (n >= 16) {
    std::uint32_t v1 = seed + p1 + p2, v2 = seed + p2, v3 = seed, v4 = seed - p1;
    while (n >= 16) {
      v1 = rotl32(v1 + get_le32(p) * p2, 13) * p1;
      v2 = rotl32(v2 + get_le32(p + 4) * p2, 13) * p1;
      v3 = rotl32(v3 + get_le32(p + 8) * p2, 13) * p1;
      v4 = rotl32(v4 + get_le32(p + 12) * p2, 13) * p1;
      p += 16;
      n -= 16;
    }
    h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
  } else {
    h = seed + p5;
  }
  h += static_cast<std::uint32_t>(data.size());
  while (n >= 4) {
    h = rotl32(h + get_le32(p) * p3, 17) * p4;
    p += 4;
    n -= 4;
  }
  while (n > 0) {
    h = rotl32(h + *p * p5, 11) * p1;
    ++p;
    --n;
  }
  h ^= h >> 15;
  h *= p2;
  h ^= h >> 13;
  h *= p3;
  h ^= h >> 16;
  return h;
}

}  // namespace kb::protocol
