// segment_builder: round trips of real librdkafka batches through every frame codec, frame
// boundaries, gaps and transactional spans, misuse reported by finish, finish_parts and
// recycled frame buffers, file names.
#include "storage/format/segment.hpp"

#include <cstring>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "protocol/records/record_batch.hpp"
#include "storage/filesystem_store.hpp"
#include "storage/format/frame_filter.hpp"
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

class SegmentCodec : public ::testing::TestWithParam<frame_codec> {};

TEST_P(SegmentCodec, RoundTripsRealBatchesByteForByte) {
  const auto batches = batch_run(1000, 24);
  // A small frame target so that the segment holds several frames.
  const byte_vector seg = build_segment(batches, GetParam(), 8 * 1024);
  auto idx = parse_segment(seg);
  ASSERT_TRUE(idx) << idx.error().message;

  EXPECT_EQ(idx->header.topic, "orders");
  EXPECT_EQ(idx->header.partition, 3);
  EXPECT_EQ(idx->header.codec, GetParam());
  EXPECT_EQ(idx->header.created_ms, 1'700'000'000'000);
  EXPECT_EQ(idx->file_size, seg.size());
  ASSERT_EQ(idx->batches.size(), batches.size());
  EXPECT_GT(idx->frames.size(), 2u);
  EXPECT_EQ(idx->first_offset(), 1000);
  EXPECT_EQ(idx->last_offset(), batches.back().entry.last_offset);
  EXPECT_EQ(idx->raw_bytes(), concat(batches).size());
  // 4 records in each *_small file, 300 in each *_300 file.
  EXPECT_EQ(idx->record_count(), 4u * (3 * 4 + 3 * 300));

  // Every batch comes back from its frame at the recorded place, with its CRC intact.
  std::vector<byte_vector> raw_frames;
  for (const auto& f : idx->frames) {
    auto raw = decode_frame(idx->header.codec, byte_view(seg).subspan(f.file_offset, f.stored_size), f.raw_size, no_frame_filter);
    ASSERT_TRUE(raw) << raw.error().message;
    raw_frames.push_back(std::move(*raw));
  }
  byte_vector all;
  for (const auto& r : raw_frames) all.insert(all.end(), r.begin(), r.end());
  EXPECT_EQ(all, concat(batches));
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto& e = idx->batches[i];
    auto expected = batches[i].entry;
    EXPECT_EQ(e.first_offset, expected.first_offset);
    EXPECT_EQ(e.last_offset, expected.last_offset);
    EXPECT_EQ(e.first_timestamp, expected.first_timestamp);
    EXPECT_EQ(e.max_timestamp, expected.max_timestamp);
    EXPECT_EQ(e.record_count, expected.record_count);
    ASSERT_LT(e.frame, raw_frames.size());
    const byte_view got = byte_view(raw_frames[e.frame]).subspan(e.position, e.size);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), batches[i].bytes.begin(), batches[i].bytes.end())) << "batch " << i;
    EXPECT_TRUE(protocol::check_batch_crc(got).has_value()) << "batch " << i;
  }
  if (GetParam() != frame_codec::none) {
    std::uint64_t stored = 0;
    for (const auto& f : idx->frames) stored += f.stored_size;
    EXPECT_LT(stored, idx->raw_bytes()) << "the 300-record JSON batches compress";
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, SegmentCodec,
                         ::testing::Values(frame_codec::none, frame_codec::lz4, frame_codec::zstd),
                         [](const auto& p) {
                           switch (p.param) {
                             case frame_codec::none: return std::string("none");
                             case frame_codec::lz4: return std::string("lz4");
                             case frame_codec::zstd: return std::string("zstd");
                           }
                           return std::string("unknown");
                         });

TEST(Segment, FramesSealAtTheTargetAndOversizedBatchesStandAlone) {
  const auto small1 = testing::rebased("none_small.bin", 0);
  const auto small2 = testing::rebased("none_small.bin", 10);
  const auto big = testing::rebased("none_300.bin", 20);
  const auto small3 = testing::rebased("none_small.bin", 400);
  ASSERT_LT(small1.bytes.size() * 2, big.bytes.size());

  segment_builder::options o;
  o.header = {"t", 0, frame_codec::none, 1};
  o.frame_target_bytes = static_cast<std::uint32_t>(small1.bytes.size() * 2);
  segment_builder b(o);
  EXPECT_TRUE(b.empty());
  EXPECT_FALSE(b.append(small1.bytes, small1.entry)) << "half full";
  auto f0 = b.append(small2.bytes, small2.entry);
  ASSERT_TRUE(f0) << "two small batches reach the target";
  EXPECT_EQ(f0->frame, 0u);
  EXPECT_EQ(f0->raw.size(), small1.bytes.size() * 2);
  auto f1 = b.append(big.bytes, big.entry);
  ASSERT_TRUE(f1) << "a batch above the target fills a frame alone";
  EXPECT_EQ(f1->frame, 1u);
  EXPECT_EQ(f1->raw, big.bytes);
  EXPECT_FALSE(b.append(small3.bytes, small3.entry));
  EXPECT_EQ(b.batch_count(), 4u);
  EXPECT_EQ(b.first_offset(), 0);
  EXPECT_EQ(b.last_offset(), small3.entry.last_offset);
  EXPECT_EQ(b.raw_bytes(), small1.bytes.size() * 3 + big.bytes.size());
  auto f2 = b.seal_frame();
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->frame, 2u);
  EXPECT_FALSE(b.seal_frame()) << "nothing left open";

  std::vector<segment_builder::raw_frame> sealed;
  sealed.push_back(std::move(*f0));
  sealed.push_back(std::move(*f1));
  sealed.push_back(std::move(*f2));
  auto seg = testing::finish_segment(std::move(b), std::move(sealed));
  auto idx = parse_segment(seg);
  ASSERT_TRUE(idx) << idx.error().message;
  ASSERT_EQ(idx->frames.size(), 3u);
  EXPECT_EQ(idx->frames[0].batch_count, 2u);
  EXPECT_EQ(idx->frames[0].first_offset, 0);
  EXPECT_EQ(idx->frames[0].last_offset, small2.entry.last_offset);
  EXPECT_EQ(idx->frames[1].first_batch, 2u);
  EXPECT_EQ(idx->frames[1].batch_count, 1u);
  EXPECT_EQ(idx->frames[1].raw_size, big.bytes.size());
  EXPECT_EQ(idx->frames[2].first_offset, 400);
  EXPECT_EQ(idx->batches[1].position, small1.bytes.size());
  EXPECT_EQ(idx->batches[3].frame, 2u);
  EXPECT_EQ(idx->batches[3].position, 0u);
  // Header (26 + topic "t") then frames back to back.
  EXPECT_EQ(idx->frames[0].file_offset, 27u);
  EXPECT_EQ(idx->frames[1].file_offset, 27u + idx->frames[0].stored_size);
  // Frame time range: from the batch headers.
  EXPECT_EQ(idx->frames[1].max_timestamp, big.entry.max_timestamp);
  EXPECT_EQ(idx->frames[1].min_timestamp, big.entry.first_timestamp);
}

TEST(Segment, GapsAndTransactionalSpansRoundTrip) {
  const auto batches = batch_run(500, 3);
  const std::vector<offset_gap> gaps = {{1000, 1999}, {100, 499}};  // out of order on purpose
  const std::vector<txn_span> txns = {{42, 3, 400, 510, txn_outcome::committed},
                                      {43, 0, 600, 700, txn_outcome::aborted},
                                      {44, 1, 900, 950, txn_outcome::open}};
  auto seg = build_segment(batches, frame_codec::zstd, 1u << 20, gaps, txns);
  auto idx = parse_segment(seg);
  ASSERT_TRUE(idx) << idx.error().message;
  ASSERT_EQ(idx->gaps.size(), 2u);
  EXPECT_EQ(idx->gaps[0], (offset_gap{100, 499})) << "gaps are stored sorted";
  EXPECT_EQ(idx->gaps[1], (offset_gap{1000, 1999}));
  EXPECT_EQ(idx->txns, txns);
  EXPECT_EQ(idx->first_offset(), 100) << "a gap before the first batch counts";
  EXPECT_EQ(idx->last_offset(), 1999) << "a gap after the last batch counts";
}

TEST(Segment, GapOnlySegment) {
  segment_builder::options o;
  o.header = {"t", 1, frame_codec::lz4, 5};
  segment_builder b(o);
  b.add_gap({0, 99});
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.first_offset(), 0);
  EXPECT_EQ(b.last_offset(), 99);
  auto seg = testing::finish_segment(std::move(b), {});
  auto idx = parse_segment(seg);
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_TRUE(idx->frames.empty());
  EXPECT_EQ(idx->first_offset(), 0);
  EXPECT_EQ(idx->last_offset(), 99);
}

// DESIGN.md §5 invariant 6: the log start fell inside a batch. The batch is stored whole and
// its leading offsets, below the start, are a gap over part of it.
TEST(Segment, BatchBeginningInsideTheTrailingGapsIsStoredWithItsLeadingOffsetsAsAGap) {
  segment_builder::options o;
  o.header = {"t", 0, frame_codec::zstd, 1};
  segment_builder b(o);
  auto before = testing::rebased("none_300.bin", 0);  // 0..299
  auto big = testing::rebased("none_300.bin", 400);   // 400..699; the log start is 500
  ASSERT_EQ(big.entry.last_offset, 699);
  (void)b.append(before.bytes, before.entry);
  b.add_gap({300, 499});  // what a retention reset records
  EXPECT_TRUE(b.gaps_cover(400, 499));
  EXPECT_FALSE(b.gaps_cover(400, 500));
  b.add_gap({400, 499});  // what the backup records for the batch: the same offsets again
  (void)b.append(big.bytes, big.entry);
  auto seg = testing::finish_segment(std::move(b), {});
  auto idx = parse_segment(seg);
  ASSERT_TRUE(idx) << idx.error().message;
  ASSERT_EQ(idx->gaps.size(), 1u) << "overlapping gaps are merged";
  EXPECT_EQ(idx->gaps[0], (offset_gap{300, 499}));
  EXPECT_EQ(idx->first_offset(), 0);
  EXPECT_EQ(idx->last_offset(), 699);
  EXPECT_EQ(live_first_offset(*idx, idx->batches[0]), 0);
  EXPECT_EQ(live_first_offset(*idx, idx->batches[1]), 500) << "readers skip the offsets below the start";
}

TEST(Segment, BatchInsideGapsMustEndPastThem) {
  segment_builder::options o;
  o.header = {"t", 0, frame_codec::none, 1};
  segment_builder b(o);
  auto big = testing::rebased("none_300.bin", 400);  // 400..699
  b.add_gap({400, 699});  // covers the whole batch: nothing of it would be live
  (void)b.append(big.bytes, big.entry);
  std::vector<byte_vector> frames;
  if (auto f = b.seal_frame()) frames.push_back(std::move(f->raw));
  auto r = std::move(b).finish(std::move(frames));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not follow offset 699"), std::string::npos) << r.error().message;
}

TEST(Segment, RecordCountLeavesOutControlBatches) {
  auto data = testing::rebased("none_small.bin", 0);
  auto marker_bytes = protocol::build_control_batch(protocol::control_type::commit, 7, 0, 1, 1'700'000'000'000, 4);
  ASSERT_TRUE(marker_bytes);
  test_batch marker{*marker_bytes, testing::entry_of(*marker_bytes)};
  marker.entry.flags |= batch_flags::commit_marker;
  ASSERT_TRUE(marker.entry.flags & batch_flags::control);
  auto idx = parse_segment(build_segment({data, marker}, frame_codec::none));
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_EQ(idx->record_count(), 4u);
  EXPECT_EQ(idx->batches[1].flags, batch_flags::control | batch_flags::transactional | batch_flags::commit_marker);
}

TEST(Segment, OffsetsOutOfOrderFailAtFinish) {
  segment_builder::options o;
  o.header = {"t", 0, frame_codec::none, 1};
  segment_builder b(o);
  auto a = testing::rebased("none_small.bin", 10);
  auto c = testing::rebased("none_small.bin", 12);  // overlaps 10..13
  (void)b.append(a.bytes, a.entry);
  (void)b.append(c.bytes, c.entry);
  std::vector<byte_vector> frames;
  auto f = b.seal_frame();
  ASSERT_TRUE(f);
  frames.push_back(f->raw);
  auto r = std::move(b).finish(std::move(frames));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::internal));
  EXPECT_NE(r.error().message.find("does not follow offset 13"), std::string::npos) << r.error().message;
}

TEST(Segment, FinishNeedsEveryFrame) {
  segment_builder::options o;
  o.header = {"t", 0, frame_codec::none, 1};
  segment_builder b(o);
  auto a = testing::rebased("none_small.bin", 0);
  (void)b.append(a.bytes, a.entry);
  auto r = std::move(b).finish({});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::internal));
}

/// Builds `batches` into a builder and returns it with its sealed frames, stored as is or
/// compressed, ready for finish or finish_parts.
std::pair<segment_builder, std::vector<byte_vector>> filled_builder(const std::vector<test_batch>& batches,
                                                                    frame_codec codec) {
  segment_builder::options o;
  o.header = {"orders", 3, codec, 1'700'000'000'000};
  o.frame_target_bytes = 8 * 1024;
  segment_builder b(o);
  std::vector<segment_builder::raw_frame> sealed;
  for (const auto& t : batches)
    if (auto f = b.append(t.bytes, t.entry)) sealed.push_back(std::move(*f));
  b.add_gap({0, 999});
  b.add_txn_span({9, 0, 1000, 1001, txn_outcome::open});
  if (auto f = b.seal_frame()) sealed.push_back(std::move(*f));
  std::vector<byte_vector> frames(sealed.size());
  for (auto& f : sealed) {
    if (codec == frame_codec::none) {
      frames.at(f.frame) = std::move(f.raw);
    } else {
      auto c = encode_frame(codec, 3, f.raw, no_frame_filter);
      EXPECT_TRUE(c);
      if (c) frames.at(f.frame) = std::move(*c);
    }
  }
  return {std::move(b), std::move(frames)};
}

TEST_P(SegmentCodec, FinishPartsJoinToExactlyTheBytesOfFinish) {
  const auto batches = batch_run(1000, 24);
  auto [whole_builder, whole_frames] = filled_builder(batches, GetParam());
  auto whole = std::move(whole_builder).finish(std::move(whole_frames));
  ASSERT_TRUE(whole) << whole.error().message;
  auto [part_builder, part_frames] = filled_builder(batches, GetParam());
  auto parts = std::move(part_builder).finish_parts(std::move(part_frames));
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_GT(parts->frames.size(), 2u);

  byte_vector joined(parts->head);
  for (const auto& f : parts->frames) joined.insert(joined.end(), f.begin(), f.end());
  joined.insert(joined.end(), parts->tail.begin(), parts->tail.end());
  EXPECT_EQ(parts->size(), joined.size());
  EXPECT_EQ(joined, *whole);
  // The streamed file checksum is the one-shot XXH3 of every byte before the trailer.
  auto idx = parse_segment(joined);
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_EQ(idx->file_xxh3, XXH3_64bits(joined.data(), joined.size() - layout::trailer_size));
}

TEST(Segment, FinishPartsHandsBackTheFrameBuffersWithoutCopying) {
  auto [b, frames] = filled_builder(batch_run(1000, 24), frame_codec::none);
  std::vector<const std::uint8_t*> where;
  for (const auto& f : frames) where.push_back(f.data());
  auto parts = std::move(b).finish_parts(std::move(frames));
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->frames.size(), where.size());
  for (std::size_t i = 0; i < where.size(); ++i) EXPECT_EQ(parts->frames[i].data(), where[i]) << "frame " << i;
}

TEST(Segment, FinishPartsReportsMisuseLikeFinish) {
  auto [b, frames] = filled_builder(batch_run(1000, 24), frame_codec::none);
  frames.pop_back();
  auto parts = std::move(b).finish_parts(std::move(frames));
  ASSERT_FALSE(parts);
  EXPECT_TRUE(parts.error().is(errc::internal));
}

TEST(Segment, RecycledFrameBufferHoldsTheNextFrame) {
  const auto batches = batch_run(1000, 24);
  segment_builder::options o;
  o.header = {"orders", 3, frame_codec::none, 1};
  o.frame_target_bytes = 8 * 1024;
  segment_builder b(o);
  byte_vector spare;
  spare.reserve(64 * 1024);
  const std::uint8_t* const spare_at = spare.data();
  b.recycle_frame(std::move(spare));
  std::optional<segment_builder::raw_frame> first;
  std::vector<test_batch> in_first;
  for (const auto& t : batches) {
    in_first.push_back(t);
    if ((first = b.append(t.bytes, t.entry))) break;
  }
  ASSERT_TRUE(first) << "the batches fill at least one frame";
  EXPECT_EQ(first->raw.data(), spare_at);
  // It holds exactly the frame's batches, nothing of what it held before.
  EXPECT_EQ(first->raw, concat(in_first));
}

TEST(Segment, FileNames) {
  EXPECT_EQ(segment_file_name(0, 41), "00000000000000000000-00000000000000000041.kbs");
  EXPECT_EQ(segment_file_name(9'223'372'036'854'775'806, 9'223'372'036'854'775'807),
            "09223372036854775806-09223372036854775807.kbs");
}


}  // namespace
}  // namespace kb::storage::format
