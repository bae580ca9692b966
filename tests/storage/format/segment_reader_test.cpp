// segment_reader: ranged reads of the index and frames from a filesystem store, and rejection
// of every flipped byte, every truncation, junk around a segment, an unknown version and gaps
// that cover stored batches.
#include "storage/format/segment.hpp"

#include <cstring>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "protocol/records/record_batch.hpp"
#include "storage/filesystem_store.hpp"
#include "storage/format/segment_layout.hpp"
#include "tests/storage/format/test_batches.hpp"

namespace kb::storage::format {
namespace {

using testing::batch_run;
using testing::build_segment;
using testing::test_batch;

byte_vector concat(const std::vector<test_batch>& batches) {
  byte_vector out;
  for (const auto& b : batches) out.insert(out.end(), b.bytes.begin(), b.bytes.end());
  return out;
}

// --- ranged reads ---------------------------------------------------------------------------

TEST(SegmentStore, IndexAndFramesByRangeReads) {
  testing::temp_dir dir;
  filesystem_store store(dir.path());
  const auto batches = batch_run(0, 12);
  const auto seg = build_segment(batches, frame_codec::zstd, 4 * 1024);
  const std::string key = "b/topics/orders/3/" + segment_file_name(0, batches.back().entry.last_offset);
  ASSERT_TRUE(store.put(key, seg));

  auto whole = parse_segment(seg);
  ASSERT_TRUE(whole);
  auto by_head = read_segment_index(store, key);
  ASSERT_TRUE(by_head) << by_head.error().message;
  auto by_size = read_segment_index(store, key, seg.size());
  ASSERT_TRUE(by_size) << by_size.error().message;
  EXPECT_EQ(by_head->batches, whole->batches);
  EXPECT_EQ(by_head->frames, whole->frames);
  EXPECT_EQ(by_head->header, whole->header);
  EXPECT_EQ(by_head->file_size, seg.size());
  EXPECT_EQ(by_head->file_xxh3, XXH3_64bits(seg.data(), seg.size() - layout::trailer_size));
  EXPECT_EQ(by_size->batches, whole->batches);

  byte_vector all;
  for (std::uint32_t i = 0; i < by_head->frames.size(); ++i) {
    auto raw = read_frame(store, key, *by_head, i);
    ASSERT_TRUE(raw) << raw.error().message;
    all.insert(all.end(), raw->begin(), raw->end());
  }
  EXPECT_EQ(all, concat(batches));
  auto none = read_frame(store, key, *by_head, static_cast<std::uint32_t>(by_head->frames.size()));
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(errc::invalid_argument));

  auto missing = read_segment_index(store, "b/nope.kbs");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(errc::not_found));
}

TEST(SegmentStore, DamagedFrameAndTruncatedObjectAreCorrupt) {
  testing::temp_dir dir;
  filesystem_store store(dir.path());
  const auto seg = build_segment(batch_run(0, 6), frame_codec::lz4, 2 * 1024);
  auto idx = parse_segment(seg);
  ASSERT_TRUE(idx);
  ASSERT_GE(idx->frames.size(), 2u);

  byte_vector damaged = seg;
  damaged[idx->frames[1].file_offset + 3] ^= 0x10;
  ASSERT_TRUE(store.put("d.kbs", damaged));
  auto index = read_segment_index(store, "d.kbs");
  ASSERT_TRUE(index) << "the index itself is intact";
  EXPECT_TRUE(read_frame(store, "d.kbs", *index, 0));
  auto bad = read_frame(store, "d.kbs", *index, 1);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::corrupt));
  EXPECT_NE(bad.error().message.find("frame 1 checksum mismatch"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("d.kbs"), std::string::npos);

  ASSERT_TRUE(store.put("t.kbs", byte_view(seg).first(seg.size() - 100)));
  auto cut = read_segment_index(store, "t.kbs");
  ASSERT_FALSE(cut);
  EXPECT_TRUE(cut.error().is(errc::corrupt));
  EXPECT_NE(cut.error().message.find("t.kbs"), std::string::npos);
}

// --- rejection ----------------------------------------------------------------------------

TEST(SegmentReject, EveryFlippedByteIsCorrupt) {
  const auto small = testing::rebased("none_small.bin", 7);
  const auto marker = testing::rebased("zstd_small.bin", 20);
  for (auto codec : {frame_codec::none, frame_codec::zstd}) {
    const auto seg = build_segment({small, marker}, codec, 64, {{11, 19}}, {{5, 1, 7, 30, txn_outcome::committed}}, "t", 0);
    ASSERT_TRUE(parse_segment(seg));
    for (std::size_t i = 0; i < seg.size(); ++i) {
      for (std::uint8_t bit : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
        byte_vector bad = seg;
        bad[i] ^= bit;
        auto r = parse_segment(bad);
        ASSERT_FALSE(r) << "byte " << i << " of " << seg.size() << " flipped and still accepted";
        ASSERT_TRUE(r.error().is(errc::corrupt)) << "byte " << i << ": " << r.error().message;
      }
    }
  }
}

TEST(SegmentReject, EveryTruncationIsCorrupt) {
  const auto seg = build_segment(batch_run(0, 3), frame_codec::lz4, 512);
  for (std::size_t n = 0; n < seg.size(); ++n) {
    auto r = parse_segment(byte_view(seg).first(n));
    ASSERT_FALSE(r) << "length " << n;
    ASSERT_TRUE(r.error().is(errc::corrupt)) << "length " << n << ": " << r.error().message;
  }
}

TEST(SegmentReject, TrailingOrLeadingJunkIsCorrupt) {
  auto seg = build_segment(batch_run(0, 2), frame_codec::none);
  byte_vector longer = seg;
  longer.push_back(0);
  EXPECT_TRUE(parse_segment(longer).error().is(errc::corrupt));
  byte_vector shifted(1, 0);
  shifted.insert(shifted.end(), seg.begin(), seg.end());
  EXPECT_TRUE(parse_segment(shifted).error().is(errc::corrupt));
}

/// Rewrites the version in the trailer and header and re-seals every checksum, as a newer
/// writer would produce them.
byte_vector with_version(byte_vector seg, std::uint16_t version) {
  const std::size_t t = seg.size() - layout::trailer_size;
  seg[4] = static_cast<std::uint8_t>(version);
  seg[5] = static_cast<std::uint8_t>(version >> 8);
  const std::uint64_t file = XXH3_64bits(seg.data(), t);
  for (int i = 0; i < 8; ++i) seg[t + 24 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(file >> (8 * i));
  seg[t + layout::trailer_version_at] = static_cast<std::uint8_t>(version);
  seg[t + layout::trailer_version_at + 1] = static_cast<std::uint8_t>(version >> 8);
  byte_vector covered(seg.begin() + static_cast<std::ptrdiff_t>(t), seg.begin() + static_cast<std::ptrdiff_t>(t) + 32);
  covered.insert(covered.end(), seg.begin() + static_cast<std::ptrdiff_t>(t) + 40, seg.end());
  const std::uint64_t sum = XXH3_64bits(covered.data(), covered.size());
  for (int i = 0; i < 8; ++i) seg[t + 32 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum >> (8 * i));
  return seg;
}

TEST(SegmentReject, UnknownVersionIsUnsupported) {
  const auto seg = build_segment(batch_run(0, 2), frame_codec::none);
  ASSERT_TRUE(parse_segment(with_version(seg, 1))) << "the helper re-seals correctly";
  auto r = parse_segment(with_version(seg, 3));  // versions 1 and 2 are known
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::unsupported)) << r.error().message;
  EXPECT_NE(r.error().message.find("version 3"), std::string::npos) << r.error().message;

  testing::temp_dir dir;
  filesystem_store store(dir.path());
  ASSERT_TRUE(store.put("v3.kbs", with_version(seg, 3)));
  auto ranged = read_segment_index(store, "v3.kbs");
  ASSERT_FALSE(ranged);
  EXPECT_TRUE(ranged.error().is(errc::unsupported)) << ranged.error().message;
}

TEST(SegmentReject, NotASegment) {
  const std::string text(200, 'x');
  auto r = parse_segment(as_bytes(text));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::corrupt));
  EXPECT_NE(r.error().message.find("not a kafka-backup segment"), std::string::npos) << r.error().message;
}

TEST(SegmentReject, GapCoveringAWholeBatchOrItsMiddle) {
  for (const offset_gap g : {offset_gap{400, 699}, offset_gap{450, 499}}) {
    auto big = testing::rebased("none_300.bin", 400);
    // build_segment adds gaps after the batches, so the builder's own check is not involved.
    auto seg = build_segment({big}, frame_codec::none, 1u << 20, {g});
    auto idx = parse_segment(seg);
    ASSERT_FALSE(idx) << g.first_offset;
    EXPECT_NE(idx.error().message.find("overlaps stored batch"), std::string::npos) << idx.error().message;
  }
}

}  // namespace
}  // namespace kb::storage::format
