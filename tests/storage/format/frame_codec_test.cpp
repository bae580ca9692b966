// Frame codecs on incompressible input: frames that do not compress are stored as LZ4 / zstd
// frames of uncompressed blocks, read back by decode_frame and by the libraries' own one-shot
// decoders; compressible frames keep the exact bytes of the plain compressor.
#include <cstring>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <zstd.h>

#include "protocol/records/record_batch.hpp"
#include "storage/format/frame_filter.hpp"
#include "storage/format/segment.hpp"
#include "tests/storage/format/test_batches.hpp"

namespace kb::storage::format {
namespace {

byte_vector random_bytes(std::size_t n, std::uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  byte_vector out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

/// Random characters from a 36-letter alphabet (like bench dataset D4): no repeats for LZ4,
/// but about 5.2 bits of entropy per byte, which zstd's entropy stage exploits.
byte_vector random_text(std::size_t n, std::uint64_t seed = 2) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937_64 rng(seed);
  byte_vector out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(alphabet[rng() % 36]);
  return out;
}

/// Telemetry-like JSON lines: compresses several times over with either codec.
byte_vector json_lines(std::size_t n) {
  std::mt19937 rng(7);
  std::string s;
  // Appended piece by piece: g++ 12 -O3 reports a false -Wrestrict on chained operator+.
  while (s.size() < n) {
    s += R"({"id":")";
    s += std::to_string(rng());
    s += R"(","user":)";
    s += std::to_string(rng() % 1000);
    s += R"(,"event":"click","ts":)";
    s += std::to_string(1700000000000ULL + rng() % 100000);
    s += "}\n";
  }
  s.resize(n);
  return byte_vector(s.begin(), s.end());
}

/// Decodes with LZ4F_decompress alone (no help from our reader): content size from the frame
/// header, output into exactly that many bytes.
byte_vector lz4_library_decode(byte_view stored) {
  LZ4F_dctx* dctx = nullptr;
  EXPECT_FALSE(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
  LZ4F_frameInfo_t info{};
  std::size_t header_len = stored.size();
  const std::size_t first = LZ4F_getFrameInfo(dctx, &info, stored.data(), &header_len);
  EXPECT_FALSE(LZ4F_isError(first)) << LZ4F_getErrorName(first);
  EXPECT_EQ(info.blockMode, LZ4F_blockIndependent);
  byte_vector out(static_cast<std::size_t>(info.contentSize));
  std::size_t in_pos = header_len;
  std::size_t out_pos = 0;
  std::size_t hint = first;
  for (int round = 0; hint != 0 && round < 1'000'000; ++round) {
    std::size_t out_len = out.size() - out_pos;
    std::size_t in_len = stored.size() - in_pos;
    hint = LZ4F_decompress(dctx, out.data() + out_pos, &out_len, stored.data() + in_pos, &in_len, nullptr);
    if (LZ4F_isError(hint)) {
      ADD_FAILURE() << "LZ4F_decompress: " << LZ4F_getErrorName(hint);
      break;
    }
    if (in_len == 0 && out_len == 0) {
      ADD_FAILURE() << "LZ4F_decompress makes no progress";
      break;
    }
    in_pos += in_len;
    out_pos += out_len;
  }
  LZ4F_freeDecompressionContext(dctx);
  EXPECT_EQ(hint, 0u) << "frame not finished";
  EXPECT_EQ(in_pos, stored.size()) << "bytes after the frame";
  out.resize(out_pos);
  return out;
}

/// Decodes with one-shot ZSTD_decompress into the frame's declared content size.
byte_vector zstd_library_decode(byte_view stored) {
  const unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  EXPECT_NE(size, ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_NE(size, ZSTD_CONTENTSIZE_ERROR);
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) return {};
  EXPECT_EQ(ZSTD_findFrameCompressedSize(stored.data(), stored.size()), stored.size());
  byte_vector out(static_cast<std::size_t>(size));
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

byte_vector library_decode(frame_codec codec, byte_view stored) {
  return codec == frame_codec::lz4 ? lz4_library_decode(stored) : zstd_library_decode(stored);
}

/// What the plain compressor (the path before the bail-out) makes of `raw`.
byte_vector plain_compress(frame_codec codec, int level, byte_view raw) {
  if (codec == frame_codec::lz4) {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentSize = raw.size();
    prefs.compressionLevel = level > 3 ? level : 0;
    byte_vector out(LZ4F_compressFrameBound(raw.size(), &prefs));
    const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), raw.data(), raw.size(), &prefs);
    EXPECT_FALSE(LZ4F_isError(n));
    out.resize(LZ4F_isError(n) ? 0 : n);
    return out;
  }
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1);
  if (level <= 19) ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, 23);  // docs/format.md §2.2: 8 MiB window
  byte_vector out(ZSTD_compressBound(raw.size()));
  const std::size_t n = ZSTD_compress2(ctx, out.data(), out.size(), raw.data(), raw.size());
  ZSTD_freeCCtx(ctx);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

/// Bytes a stored (uncompressed-block) frame adds to `n` raw bytes: LZ4 magic + FLG + BD +
/// 8-byte content size + header checksum + EndMark, 4 bytes per 64 KiB block; zstd magic +
/// descriptor + window + 4-byte content size, 3 bytes per 128 KiB block (at least one).
std::size_t stored_overhead(frame_codec codec, std::size_t n) {
  if (codec == frame_codec::lz4) return 19 + 4 * ((n + 65535) / 65536);
  return 10 + 3 * std::max<std::size_t>(1, (n + 131071) / 131072);
}

class IncompressibleFrame : public ::testing::TestWithParam<frame_codec> {};

TEST_P(IncompressibleFrame, RandomFramesOfEverySizeAreStoredAndReadByAnyDecoder) {
  const auto codec = GetParam();
  for (std::size_t n : {std::size_t{1}, std::size_t{100}, std::size_t{65535}, std::size_t{65536},
                        std::size_t{131073}, std::size_t{1} << 20, (std::size_t{4} << 20) + 3}) {
    SCOPED_TRACE(n);
    const auto raw = random_bytes(n, n);
    auto stored = encode_frame(codec, 3, raw, no_frame_filter);
    ASSERT_TRUE(stored) << stored.error().message;
    // Stored, not compressed: exactly raw plus the frame's own bookkeeping.
    EXPECT_EQ(stored->size(), n + stored_overhead(codec, n));
    auto ours = decode_frame(codec, *stored, static_cast<std::uint32_t>(n), no_frame_filter);
    ASSERT_TRUE(ours) << ours.error().message;
    EXPECT_EQ(*ours, raw);
    EXPECT_EQ(library_decode(codec, *stored), raw);
  }
}

TEST_P(IncompressibleFrame, ARandomMebibyteCostsAFewDozenBytesAtEveryLevel) {
  const auto codec = GetParam();
  const auto raw = random_bytes(1u << 20);
  for (int level : {1, 3, 9}) {
    SCOPED_TRACE(level);
    auto stored = encode_frame(codec, level, raw, no_frame_filter);
    ASSERT_TRUE(stored);
    EXPECT_GT(stored->size(), raw.size());
    EXPECT_LE(stored->size(), raw.size() + 100);
    EXPECT_EQ(library_decode(codec, *stored), raw);
  }
}

TEST_P(IncompressibleFrame, CompressibleFramesKeepThePlainCompressorsBytes) {
  const auto codec = GetParam();
  const auto raw = json_lines(1u << 20);
  for (int level : {1, 3, 9}) {
    SCOPED_TRACE(level);
    auto enc = encode_frame(codec, level, raw, no_frame_filter);
    ASSERT_TRUE(enc);
    EXPECT_GT(static_cast<double>(raw.size()) / static_cast<double>(enc->size()), 2.5);
    EXPECT_EQ(*enc, plain_compress(codec, level, raw));
    EXPECT_EQ(library_decode(codec, *enc), raw);
  }
}

TEST_P(IncompressibleFrame, SmallCompressibleFramesStillCompress) {
  // At most 64 KiB the sample is the whole frame.
  const auto codec = GetParam();
  for (std::size_t n : {std::size_t{300}, std::size_t{4096}, std::size_t{65536}}) {
    SCOPED_TRACE(n);
    const auto raw = json_lines(n);
    auto enc = encode_frame(codec, 3, raw, no_frame_filter);
    ASSERT_TRUE(enc);
    EXPECT_LT(enc->size(), raw.size() * 3 / 4);
    EXPECT_EQ(*enc, plain_compress(codec, 3, raw));
  }
}

TEST_P(IncompressibleFrame, AFrameWithACompressibleQuarterIsCompressed) {
  // The sampler looks at 4 pieces spread over the frame: a compressible first quarter makes
  // one of them shrink a lot, the estimate stays well above 3%, so the frame is compressed
  // (the random rest then costs what it costs in the plain compressor).
  const auto codec = GetParam();
  auto raw = json_lines(256 * 1024);
  const auto rest = random_bytes(768 * 1024);
  raw.insert(raw.end(), rest.begin(), rest.end());
  auto enc = encode_frame(codec, 3, raw, no_frame_filter);
  ASSERT_TRUE(enc);
  EXPECT_EQ(*enc, plain_compress(codec, 3, raw));
  EXPECT_LT(enc->size(), raw.size() - 150 * 1024);
  auto ours = decode_frame(codec, *enc, static_cast<std::uint32_t>(raw.size()), no_frame_filter);
  ASSERT_TRUE(ours);
  EXPECT_EQ(*ours, raw);
}

TEST_P(IncompressibleFrame, AFrameWhoseSampledPiecesAreRandomIsStored) {
  // The other side of the same choice: compressible bytes only between the sampled pieces
  // are not seen; the frame is stored, still readable.
  const auto codec = GetParam();
  auto raw = random_bytes(1u << 20);
  const auto text = json_lines(64 * 1024);
  std::memcpy(raw.data() + 100 * 1024, text.data(), text.size());
  auto enc = encode_frame(codec, 3, raw, no_frame_filter);
  ASSERT_TRUE(enc);
  EXPECT_EQ(enc->size(), raw.size() + stored_overhead(codec, raw.size()));
  EXPECT_EQ(library_decode(codec, *enc), raw);
}

INSTANTIATE_TEST_SUITE_P(Codecs, IncompressibleFrame, ::testing::Values(frame_codec::lz4, frame_codec::zstd),
                         [](const auto& p) { return p.param == frame_codec::lz4 ? "lz4" : "zstd"; });

TEST(IncompressibleFrame, LetterTextIsStoredByLz4ButCompressedByZstd) {
  // Each codec's sample runs that codec: LZ4 finds no matches in random letters, zstd's
  // entropy stage still saves about a third.
  const auto raw = random_text(1u << 20);
  auto lz4 = encode_frame(frame_codec::lz4, 3, raw, no_frame_filter);
  auto zstd = encode_frame(frame_codec::zstd, 3, raw, no_frame_filter);
  ASSERT_TRUE(lz4 && zstd);
  EXPECT_EQ(lz4->size(), raw.size() + stored_overhead(frame_codec::lz4, raw.size()));
  EXPECT_LT(zstd->size(), raw.size() * 3 / 4);
  EXPECT_EQ(*zstd, plain_compress(frame_codec::zstd, 3, raw));
  EXPECT_EQ(lz4_library_decode(*lz4), raw);
}

TEST(IncompressibleFrame, StoredLz4FrameIsWhatLz4fEmitsForRandomInput) {
  // LZ4F itself falls back to uncompressed 64 KiB blocks on random input: same header,
  // same checksum byte, same blocks; we just skip trying.
  for (std::size_t n : {std::size_t{1}, std::size_t{65536}, std::size_t{200'000}}) {
    const auto raw = random_bytes(n, 5);
    auto stored = encode_frame(frame_codec::lz4, 3, raw, no_frame_filter);
    ASSERT_TRUE(stored);
    EXPECT_EQ(*stored, plain_compress(frame_codec::lz4, 3, raw)) << n;
  }
}

TEST(IncompressibleFrame, StoredZstdFrameNeedsOnlyA128KiBWindow) {
  // A streaming decoder limited to a 128 KiB window (windowLog 17) reads the stored frame,
  // so frames of any size decode within default decoder limits (a Single_Segment frame's
  // window is its whole content size). The plain frame of the same input needs more.
  const auto raw = random_bytes(3u << 20);
  auto stored = encode_frame(frame_codec::zstd, 3, raw, no_frame_filter);
  ASSERT_TRUE(stored);
  EXPECT_EQ(ZSTD_getFrameContentSize(stored->data(), stored->size()), raw.size());
  // Output in 64 KiB steps like our reader's: with room for the whole content the decoder
  // would take its one-shot path, which ignores the window limit.
  auto stream_decode = [](byte_view in_bytes, std::size_t n) {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 17);
    byte_vector out(n);
    ZSTD_inBuffer in{in_bytes.data(), in_bytes.size(), 0};
    std::size_t at = 0;
    std::size_t ret = 1;
    for (int round = 0; round < 100'000 && ret != 0; ++round) {
      ZSTD_outBuffer ob{out.data() + at, std::min<std::size_t>(64 * 1024, n - at), 0};
      ret = ZSTD_decompressStream(d, &ob, &in);
      if (ZSTD_isError(ret) || (ob.pos == 0 && in.pos == in.size)) break;
      at += ob.pos;
    }
    ZSTD_freeDCtx(d);
    if (ret != 0) return byte_vector{};  // an error, or the frame did not finish
    out.resize(at);
    return out;
  };
  EXPECT_EQ(stream_decode(*stored, raw.size()), raw);
  EXPECT_TRUE(stream_decode(plain_compress(frame_codec::zstd, 3, raw), raw.size()).empty());
}

TEST(IncompressibleFrame, DecodeRejectsAStoredFrameWithTheWrongRawSizeOrCutShort) {
  const auto raw = random_bytes(300'000);
  for (auto codec : {frame_codec::lz4, frame_codec::zstd}) {
    auto stored = encode_frame(codec, 3, raw, no_frame_filter);
    ASSERT_TRUE(stored);
    const auto n = static_cast<std::uint32_t>(raw.size());
    EXPECT_FALSE(decode_frame(codec, *stored, n - 1, no_frame_filter));
    EXPECT_FALSE(decode_frame(codec, *stored, n + 1, no_frame_filter));
    EXPECT_FALSE(decode_frame(codec, byte_view(*stored).first(stored->size() - 1), n, no_frame_filter));
  }
}

// --- whole segments -----------------------------------------------------------------------

/// Real v2 batches of `count` records whose values are random bytes (like dataset D3).
std::vector<testing::test_batch> random_batches(int batches, int records, std::size_t value_size) {
  std::vector<testing::test_batch> out;
  std::int64_t offset = 500;
  std::uint64_t seed = 11;
  for (int i = 0; i < batches; ++i) {
    protocol::batch_options o;
    o.base_offset = offset;
    protocol::record_batch_builder b(o);
    for (int r = 0; r < records; ++r) {
      const auto value = random_bytes(value_size, seed++);
      const std::string key = std::to_string(offset + r);
      b.add(1'700'000'000'000 + r, as_bytes(key), byte_view(value));
    }
    auto built = b.build();
    EXPECT_TRUE(built);
    testing::test_batch t;
    t.bytes = std::move(*built);
    t.entry = testing::entry_of(t.bytes);
    offset = t.entry.last_offset + 1;
    out.push_back(std::move(t));
  }
  return out;
}

TEST_P(IncompressibleFrame, SegmentsOfRandomBatchesRoundTrip) {
  const auto codec = GetParam();
  const auto batches = random_batches(24, 16, 4096);  // ~1.5 MiB
  const auto seg = testing::build_segment(batches, codec, 256 * 1024);
  auto idx = parse_segment(seg);
  ASSERT_TRUE(idx) << idx.error().message;
  ASSERT_EQ(idx->batches.size(), batches.size());
  ASSERT_GE(idx->frames.size(), 5u);
  byte_vector all;
  for (const auto& f : idx->frames) {
    // Each frame is stored, not compressed.
    EXPECT_EQ(f.stored_size, f.raw_size + stored_overhead(codec, f.raw_size));
    const byte_view stored = byte_view(seg).subspan(f.file_offset, f.stored_size);
    auto raw = decode_frame(codec, stored, f.raw_size, no_frame_filter);
    ASSERT_TRUE(raw) << raw.error().message;
    EXPECT_EQ(library_decode(codec, stored), *raw);
    all.insert(all.end(), raw->begin(), raw->end());
  }
  byte_vector expected;
  for (const auto& b : batches) expected.insert(expected.end(), b.bytes.begin(), b.bytes.end());
  EXPECT_EQ(all, expected);
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto& e = idx->batches[i];
    EXPECT_EQ(e.first_offset, batches[i].entry.first_offset);
    EXPECT_EQ(e.last_offset, batches[i].entry.last_offset);
  }
}

TEST(FrameCodec, DecodeRejectsAWrongRawSize) {
  const auto raw = testing::read_testdata("none_300.bin");
  for (auto codec : {frame_codec::none, frame_codec::lz4, frame_codec::zstd}) {
    auto stored = encode_frame(codec, 3, raw, no_frame_filter);
    ASSERT_TRUE(stored);
    const auto n = static_cast<std::uint32_t>(raw.size());
    auto ok = decode_frame(codec, *stored, n, no_frame_filter);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(*ok, raw);
    auto shorter = decode_frame(codec, *stored, n - 1, no_frame_filter);
    ASSERT_FALSE(shorter);
    EXPECT_TRUE(shorter.error().is(errc::corrupt));
    auto longer = decode_frame(codec, *stored, n + 1, no_frame_filter);
    ASSERT_FALSE(longer);
    EXPECT_TRUE(longer.error().is(errc::corrupt));
    if (codec != frame_codec::none) {
      auto cut = decode_frame(codec, byte_view(*stored).first(stored->size() / 2), n, no_frame_filter);
      ASSERT_FALSE(cut);
      EXPECT_TRUE(cut.error().is(errc::corrupt));
    }
  }
}

TEST(FrameCodec, ZstdLevelChangesTheOutput) {
  const auto raw = testing::read_testdata("none_300.bin");
  auto fast = encode_frame(frame_codec::zstd, 1, raw, no_frame_filter);
  auto best = encode_frame(frame_codec::zstd, 19, raw, no_frame_filter);
  ASSERT_TRUE(fast && best);
  EXPECT_LT(best->size(), fast->size());
}

TEST(decode_frame, an_uncompressed_frame_given_up_is_handed_back_not_copied) {
  byte_vector stored{1, 2, 3, 4};
  const std::uint8_t* where = stored.data();
  auto raw = decode_frame(frame_codec::none, std::move(stored), 4, no_frame_filter);
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_EQ(raw->data(), where);  // the same buffer: a ranged read's body becomes the frame
  EXPECT_EQ(*raw, (byte_vector{1, 2, 3, 4}));
  auto wrong = decode_frame(frame_codec::none, byte_vector{1, 2}, 3, no_frame_filter);
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(errc::corrupt));
  // A compressed frame given up decodes as from a view.
  const byte_vector plain(1000, 7);
  auto packed = encode_frame(frame_codec::zstd, 3, plain, no_frame_filter);
  ASSERT_TRUE(packed);
  auto back = decode_frame(frame_codec::zstd, std::move(*packed), 1000, no_frame_filter);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, plain);
}

}  // namespace
}  // namespace kb::storage::format
