// Frame codecs of the `.kbs` segment: compress one frame (or store it as uncompressed blocks of
// the same codec when it does not shrink) and decompress it with bounded output.
#include "storage/format/frame_codec.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <lz4.h>
#include <lz4frame.h>
#include <lz4hc.h>
#include <xxhash.h>
#include <zstd.h>

#include "storage/format/byte_io.hpp"
#include "storage/format/frame_filter.hpp"

namespace kb::storage::format {

const char* frame_codec_name(frame_codec c) noexcept {
  switch (c) {
    case frame_codec::none: return "none";
    case frame_codec::lz4: return "lz4";
    case frame_codec::zstd: return "zstd";
  }
  return "unknown";
}

namespace {

using detail::writer;

/// Output grows only as the decompressor produces bytes, so a lying raw_size cannot make us
/// allocate more than the input really expands to (plus one chunk).
constexpr std::size_t decode_chunk = 256 * 1024;

/// `raw_size` is exact, or only the bound when `exact` is false (a filtered frame's content).
kb::result<byte_vector> decode_zstd(byte_view stored, std::uint64_t raw_size, bool exact) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!ctx) return fail(errc::internal, "zstd: cannot create a decompression context (out of memory)");
  byte_vector out;
  ZSTD_inBuffer in{stored.data(), stored.size(), 0};
  std::size_t last = 1;
  while (true) {
    const std::size_t room = static_cast<std::size_t>(std::min<std::uint64_t>(decode_chunk, raw_size + 1 - out.size()));
    const std::size_t at = out.size();
    out.resize(at + room);
    ZSTD_outBuffer ob{out.data() + at, room, 0};
    last = ZSTD_decompressStream(ctx.get(), &ob, &in);
    out.resize(at + ob.pos);
    if (ZSTD_isError(last))
      return fail(errc::corrupt, fmt::format("zstd frame does not decompress: {}", ZSTD_getErrorName(last)));
    if (out.size() > raw_size)
      return fail(errc::corrupt, fmt::format("zstd frame decompresses to more than its {} raw bytes", raw_size));
    if (last == 0 && in.pos == in.size) break;
    if (ob.pos == 0 && in.pos == in.size)
      return fail(errc::corrupt, "zstd frame is truncated");
  }
  if (exact && out.size() != raw_size)
    return fail(errc::corrupt, fmt::format("zstd frame decompresses to {} bytes, the index says {}", out.size(), raw_size));
  return out;
}

kb::result<byte_vector> decode_lz4(byte_view stored, std::uint64_t raw_size, bool exact) {
  LZ4F_dctx* raw_ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_ctx, LZ4F_VERSION)))
    return fail(errc::internal, "lz4: cannot create a decompression context (out of memory)");
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(raw_ctx, &LZ4F_freeDecompressionContext);
  byte_vector out;
  std::size_t in_pos = 0;
  std::size_t hint = 1;
  while (in_pos < stored.size()) {
    const std::size_t room = static_cast<std::size_t>(std::min<std::uint64_t>(decode_chunk, raw_size + 1 - out.size()));
    const std::size_t at = out.size();
    out.resize(at + room);
    std::size_t out_len = room;
    std::size_t in_len = stored.size() - in_pos;
    hint = LZ4F_decompress(ctx.get(), out.data() + at, &out_len, stored.data() + in_pos, &in_len, nullptr);
    out.resize(at + out_len);
    if (LZ4F_isError(hint))
      return fail(errc::corrupt, fmt::format("lz4 frame does not decompress: {}", LZ4F_getErrorName(hint)));
    if (out.size() > raw_size)
      return fail(errc::corrupt, fmt::format("lz4 frame decompresses to more than its {} raw bytes", raw_size));
    in_pos += in_len;
    if (hint == 0) break;
    if (in_len == 0 && out_len == 0) return fail(errc::corrupt, "lz4 frame makes no progress");
  }
  if (hint != 0) return fail(errc::corrupt, "lz4 frame is truncated");
  if (in_pos != stored.size()) return fail(errc::corrupt, "lz4 frame has trailing bytes");
  if (exact && out.size() != raw_size)
    return fail(errc::corrupt, fmt::format("lz4 frame decompresses to {} bytes, the index says {}", out.size(), raw_size));
  return out;
}


// Incompressible frames (random bytes, already-compressed batches, short random text for LZ4)
// are stored as frames of the same codec made of uncompressed blocks: any decoder reads them,
// the format does not change, and the compressor's CPU is not spent on bytes it cannot shrink.

// The sample: up to 4 pieces of 16 KiB spread from the start to the end of the frame (the
// whole frame if it is at most 64 KiB), each compressed on its own at the frame's level.
constexpr std::size_t sample_piece = std::size_t{16} * 1024;
constexpr std::size_t sample_pieces = 4;

// A frame is compressed when the sample saves at least 3%. Below that, compression buys at
// most ~31 KiB per MiB for the codec's full CPU cost (LZ4 on random text stores its blocks
// raw anyway), and the sample's estimate is not finer than a few percent.
constexpr std::size_t min_saving_percent = 3;

/// Whether compressing `raw` with `codec` at `level` is worth it, judged on a sample. A
/// frame with a compressible start but a random rest still compresses when its sampled
/// pieces together save 3%. Errors of the block API count as "worth it" (the real
/// compressor then reports them).
bool worth_compressing(frame_codec codec, int level, byte_view raw) {
  if (raw.empty()) return true;
  // A context of its own, kept per thread (frames are encoded on a worker pool): making one per
  // frame cost ~10 us, and reusing the frame compressor's context after a 16 KiB sample made
  // the whole-frame compression twice as slow (zstd 1.5, 1 MiB of random letters, level 3).
  thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> zctx(nullptr, &ZSTD_freeCCtx);
  if (codec == frame_codec::zstd && !zctx) {
    zctx.reset(ZSTD_createCCtx());
    if (!zctx) return true;  // the real compressor reports the lack of memory
  }
  std::array<byte_view, sample_pieces> pieces{};
  std::size_t count = 1;
  if (raw.size() <= sample_piece * sample_pieces) {
    pieces[0] = raw;
  } else {
    count = sample_pieces;
    const std::size_t step = (raw.size() - sample_piece) / (sample_pieces - 1);
    for (std::size_t i = 0; i < count; ++i) pieces[i] = raw.subspan(i * step, sample_piece);
  }
  auto bound = [&](byte_view p) {
    return codec == frame_codec::lz4 ? static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(p.size())))
                                     : ZSTD_compressBound(p.size());
  };
  std::size_t in = 0;
  for (std::size_t i = 0; i < count; ++i) in += pieces[i].size();
  const std::size_t enough = in * (100 - min_saving_percent);  // out * 100 below this: compress
  // Pieces not compressed yet count at their worst (the codec's bound), so the loop can stop
  // as soon as the answer is "compress" whatever they hold: compressible frames usually pay
  // for one piece, not four.
  std::size_t out = 0;
  for (std::size_t i = 0; i < count; ++i) out += bound(pieces[i]);
  byte_vector scratch;
  for (std::size_t i = 0; i < count; ++i) {
    if (out * 100 < enough) return true;
    const auto p = pieces[i];
    out -= bound(p);
    if (codec == frame_codec::lz4) {
      const int n = static_cast<int>(p.size());
      scratch.resize(static_cast<std::size_t>(LZ4_compressBound(n)));
      auto* src = reinterpret_cast<const char*>(p.data());
      auto* dst = reinterpret_cast<char*>(scratch.data());
      const int cap = static_cast<int>(scratch.size());
      // Same split as the frame compressor below: up to level 3 fast mode, then LZ4HC.
      const int got = level > 3 ? LZ4_compress_HC(src, dst, n, cap, level) : LZ4_compress_default(src, dst, n, cap);
      if (got <= 0) return true;
      out += static_cast<std::size_t>(got);
    } else {
      scratch.resize(ZSTD_compressBound(p.size()));
      const std::size_t got = ZSTD_compressCCtx(zctx.get(), scratch.data(), scratch.size(), p.data(), p.size(), level);
      if (ZSTD_isError(got)) return true;
      out += got;
    }
  }
  return out * 100 < enough;
}

/// One LZ4 frame (lz4 doc/lz4_Frame_format.md) of uncompressed blocks: independent blocks,
/// content size set, no checksums. 64 KiB blocks, the size LZ4F itself picks, so a decoder
/// sizes its buffers as for our compressed frames; this is byte for byte what LZ4F emits for
/// input none of whose blocks shrink.
byte_vector store_lz4_frame(byte_view raw) {
  constexpr std::size_t block = std::size_t{64} * 1024;
  byte_vector out;
  out.reserve(19 + 4 * (raw.size() / block + 1) + raw.size());
  writer w(out);
  w.u32(0x184D2204);  // magic
  const std::size_t descriptor_at = out.size();
  w.u8(0x68);  // FLG: version 01, independent blocks, content size present
  w.u8(0x40);  // BD: block maximum size id 4 = 64 KiB
  w.u64(raw.size());
  // Header checksum: second byte of XXH32 (seed 0) over the descriptor.
  w.u8(static_cast<std::uint8_t>(XXH32(out.data() + descriptor_at, out.size() - descriptor_at, 0) >> 8));
  for (std::size_t at = 0; at < raw.size(); at += block) {
    const std::size_t n = std::min(block, raw.size() - at);
    w.u32(static_cast<std::uint32_t>(n) | 0x80000000u);  // high bit: the block is stored uncompressed
    w.bytes(raw.subspan(at, n));
  }
  w.u32(0);  // EndMark
  return out;
}

/// One zstd frame (RFC 8878) of Raw_Blocks with a 4-byte Frame_Content_Size. A Window_Descriptor
/// of 128 KiB rather than Single_Segment: with Single_Segment the window is the content size,
/// and a streaming decoder with default limits (ours included) refuses windows over 128 MiB,
/// while frames may hold up to 2 GiB; 128 KiB is also the largest block, so nothing is lost.
byte_vector store_zstd_frame(byte_view raw) {
  constexpr std::size_t block = std::size_t{128} * 1024;
  byte_vector out;
  out.reserve(10 + 3 * (raw.size() / block + 1) + raw.size());
  writer w(out);
  w.u32(0xFD2FB528);  // magic
  w.u8(0x80);         // Frame_Header_Descriptor: FCS flag 2 (4 bytes), no Single_Segment, checksum or dict id
  w.u8(0x38);         // Window_Descriptor: exponent 7, mantissa 0 -> 2^(10+7) = 128 KiB
  w.u32(static_cast<std::uint32_t>(raw.size()));
  std::size_t at = 0;
  do {  // an empty frame still needs one (empty, last) block
    const std::size_t n = std::min(block, raw.size() - at);
    const bool last = at + n == raw.size();
    // Block_Header, 3 bytes LE: Last_Block bit 0, Block_Type 0 (Raw) bits 1-2, Block_Size bits 3-23.
    const auto header = static_cast<std::uint32_t>(n << 3) | (last ? 1u : 0u);
    w.u8(static_cast<std::uint8_t>(header));
    w.u8(static_cast<std::uint8_t>(header >> 8));
    w.u8(static_cast<std::uint8_t>(header >> 16));
    w.bytes(raw.subspan(at, n));
    at += n;
  } while (at < raw.size());
  return out;
}

constexpr int zstd_window_log = 23;

/// The compressor's output room, kept per thread: a buffer of the codec's bound made for each
/// frame was zero-filled (pages touched) and then held at that capacity until the frame was
/// written, however small the compressed frame. The frame now keeps exactly its bytes.
class scratch_buffer {
 public:
  explicit scratch_buffer(std::size_t bound) : buf_(buffer()) {
    if (buf_.size() < bound) buf_.resize(bound);
    size_ = bound;
  }
  scratch_buffer(const scratch_buffer&) = delete;
  scratch_buffer& operator=(const scratch_buffer&) = delete;
  ~scratch_buffer() {
    if (buf_.size() > keep_bytes) byte_vector().swap(buf_);  // a rare huge frame does not stay
  }
  [[nodiscard]] std::uint8_t* data() noexcept { return buf_.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] byte_vector take(std::size_t n) const { return byte_vector(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n)); }

 private:
  static constexpr std::size_t keep_bytes = std::size_t{16} << 20;
  static byte_vector& buffer() {
    thread_local byte_vector b;
    return b;
  }
  byte_vector& buf_;
  std::size_t size_ = 0;
};

kb::result<byte_vector> encode_content(frame_codec codec, int level, byte_view raw) {
  // The stored frames carry a 4-byte (zstd) content size; the writer's frames stay below 2 GiB.
  const bool storable = raw.size() <= std::numeric_limits<std::uint32_t>::max();
  switch (codec) {
    case frame_codec::none: return byte_vector(raw.begin(), raw.end());
    case frame_codec::zstd: {
      if (storable && !worth_compressing(codec, level, raw)) return store_zstd_frame(raw);
      std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
      if (!ctx) return fail(errc::internal, "zstd: cannot create a compression context (out of memory)");
      ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_compressionLevel, level);
      ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_contentSizeFlag, 1);
      // A window as large as the frame (8 MiB; zstd trims it to the content): the low levels'
      // default (512 KiB at level 1) misses repeats a few MiB apart, which the batch columns put
      // within reach (10 KB records, bench D7: 0.52 -> 0.14 MB at level 1). Levels 20-22 keep
      // their own, larger windows.
      if (level <= 19) ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_windowLog, zstd_window_log);
      scratch_buffer out(ZSTD_compressBound(raw.size()));
      const std::size_t n = ZSTD_compress2(ctx.get(), out.data(), out.size(), raw.data(), raw.size());
      if (ZSTD_isError(n)) return fail(errc::internal, fmt::format("zstd compression failed: {}", ZSTD_getErrorName(n)));
      return out.take(n);
    }
    case frame_codec::lz4: {
      if (storable && !worth_compressing(codec, level, raw)) return store_lz4_frame(raw);
      LZ4F_preferences_t prefs{};
      prefs.frameInfo.blockMode = LZ4F_blockIndependent;
      prefs.frameInfo.contentSize = raw.size();
      // Levels up to 3 (the config's default, meant for zstd) use LZ4's fast mode; 4..12 LZ4HC.
      prefs.compressionLevel = level > 3 ? level : 0;
      scratch_buffer out(LZ4F_compressFrameBound(raw.size(), &prefs));
      const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), raw.data(), raw.size(), &prefs);
      if (LZ4F_isError(n)) return fail(errc::internal, fmt::format("lz4 compression failed: {}", LZ4F_getErrorName(n)));
      return out.take(n);
    }
  }
  return fail(errc::unsupported, fmt::format("unknown frame codec {}", static_cast<int>(codec)));
}

}  // namespace

kb::result<byte_vector> encode_frame(frame_codec codec, int level, byte_view raw, std::uint8_t filter) {
  if (filter == no_frame_filter) return encode_content(codec, level, raw);
  if (codec == frame_codec::none)
    return fail(errc::internal, fmt::format("frame filter {} needs a compressing codec", filter));
  auto f = find_frame_filter(filter);
  if (!f) return fail(std::move(f.error()));
  // Kept per thread (frames are encoded on a worker pool), like the compressor's output room.
  thread_local byte_vector filtered;
  (*f)->encode(raw, filtered);
  if (filtered.size() > max_filtered_size(raw.size()))
    return fail(errc::internal, fmt::format("frame filter {} made {} bytes of {} (more than it may)", (*f)->name,
                                            filtered.size(), raw.size()));
  auto out = encode_content(codec, level, filtered);
  if (filtered.capacity() > (std::size_t{32} << 20)) byte_vector().swap(filtered);  // a rare huge frame
  return out;
}

kb::result<byte_vector> decode_frame(frame_codec codec, byte_view stored, std::uint32_t raw_size, std::uint8_t filter) {
  if (filter != no_frame_filter) {
    if (codec == frame_codec::none) return fail(errc::corrupt, "an uncompressed frame cannot be filtered");
    auto f = find_frame_filter(filter);
    if (!f) return fail(std::move(f.error()));
    auto content = codec == frame_codec::zstd ? decode_zstd(stored, max_filtered_size(raw_size), false)
                                              : decode_lz4(stored, max_filtered_size(raw_size), false);
    if (!content) return content;
    return (*f)->decode(*content, raw_size);
  }
  switch (codec) {
    case frame_codec::none:
      if (stored.size() != raw_size)
        return fail(errc::corrupt, fmt::format("uncompressed frame holds {} bytes, the index says {}", stored.size(), raw_size));
      return byte_vector(stored.begin(), stored.end());
    case frame_codec::zstd: return decode_zstd(stored, raw_size, true);
    case frame_codec::lz4: return decode_lz4(stored, raw_size, true);
  }
  return fail(errc::unsupported, fmt::format("unknown frame codec {}", static_cast<int>(codec)));
}

kb::result<byte_vector> decode_frame(frame_codec codec, byte_vector&& stored, std::uint32_t raw_size,
                                     std::uint8_t filter) {
  if (codec != frame_codec::none || filter != no_frame_filter)
    return decode_frame(codec, byte_view(stored), raw_size, filter);
  if (stored.size() != raw_size)
    return fail(errc::corrupt, fmt::format("uncompressed frame holds {} bytes, the index says {}", stored.size(), raw_size));
  return std::move(stored);
}

}  // namespace kb::storage::format
