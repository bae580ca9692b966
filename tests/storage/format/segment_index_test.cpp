// segment_index and its codec: the index's offset range, raw size, record count and live first
// offset; the header, index and trailer encodings round trip and the index checks name what is
// inconsistent.
#include "storage/format/segment_index.hpp"

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/format/segment_index_codec.hpp"
#include "storage/format/segment_layout.hpp"

namespace kb::storage::format {
namespace {

batch_entry batch(std::int64_t first, std::int64_t last, std::uint32_t frame, std::uint32_t position,
                  std::uint32_t size, std::uint16_t flags = 0) {
  batch_entry b;
  b.first_offset = first;
  b.last_offset = last;
  b.first_timestamp = 1000 + first;
  b.max_timestamp = 1000 + last;
  b.record_count = static_cast<std::int32_t>(last - first + 1);
  b.flags = flags;
  b.frame = frame;
  b.position = position;
  b.size = size;
  return b;
}

/// Two uncompressed frames of two batches each, a committed transaction and a leading gap,
/// laid out as the builder lays them out after a header of `header_length` bytes.
segment_index sample(std::uint64_t header_length) {
  segment_index idx;
  idx.header = {"orders", 3, frame_codec::none, 1'700'000'000'000};
  idx.batches = {batch(10, 14, 0, 0, 100), batch(15, 19, 0, 100, 50), batch(20, 20, 1, 0, 70, batch_flags::control),
                 batch(21, 29, 1, 70, 30)};
  frame_entry f0;
  f0.file_offset = header_length;
  f0.stored_size = f0.raw_size = 150;
  f0.first_batch = 0;
  f0.batch_count = 2;
  f0.first_offset = 10;
  f0.last_offset = 19;
  frame_entry f1 = f0;
  f1.file_offset = header_length + 150;
  f1.stored_size = f1.raw_size = 100;
  f1.first_batch = 2;
  f1.first_offset = 20;
  f1.last_offset = 29;
  for (auto* f : {&f0, &f1})
    for (std::uint32_t k = 0; k < f->batch_count; ++k) detail::widen_frame_times(*f, idx.batches[f->first_batch + k]);
  idx.frames = {f0, f1};
  idx.txns = {{7, 0, 10, 20, txn_outcome::committed}};
  idx.gaps = {{0, 9}};
  return idx;
}

std::uint64_t header_length_of(const segment_index& idx) { return layout::header_fixed_size + idx.header.topic.size(); }

TEST(SegmentIndex, OffsetsSizesAndRecords) {
  const auto idx = sample(32);
  EXPECT_EQ(idx.first_offset(), 0);  // the gap starts before the first batch
  EXPECT_EQ(idx.last_offset(), 29);
  EXPECT_EQ(idx.raw_bytes(), 250u);
  EXPECT_EQ(idx.record_count(), 5u + 5u + 9u);  // the control batch's marker is not a record
  segment_index empty;
  EXPECT_EQ(empty.first_offset(), -1);
  EXPECT_EQ(empty.last_offset(), -1);
  EXPECT_EQ(empty.raw_bytes(), 0u);
}

TEST(SegmentIndex, LiveFirstOffsetSkipsTheGapOverABatchesLeadingOffsets) {
  segment_index idx;
  idx.gaps = {{0, 4}, {5, 12}};
  EXPECT_EQ(live_first_offset(idx, batch(10, 19, 0, 0, 1)), 13);
  EXPECT_EQ(live_first_offset(idx, batch(20, 29, 0, 0, 1)), 20);
}

TEST(SegmentIndexCodec, IndexRoundTripsAndReportsItsHeaderLength) {
  auto idx = sample(0);
  const auto header_length = header_length_of(idx);
  idx = sample(header_length);
  const auto bytes = detail::encode_index(idx, static_cast<std::uint32_t>(header_length));
  EXPECT_EQ(bytes.size(), layout::index_fixed_size + 6 + 2 * layout::frame_entry_size +
                              4 * layout::batch_entry_size + layout::txn_entry_size + layout::gap_entry_size);
  std::uint32_t got_header_length = 0;
  auto back = detail::parse_index(bytes, header_length + 250, "t", got_header_length);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(got_header_length, header_length);
  EXPECT_EQ(back->header, idx.header);
  EXPECT_EQ(back->frames, idx.frames);
  EXPECT_EQ(back->batches, idx.batches);
  EXPECT_EQ(back->txns, idx.txns);
  EXPECT_EQ(back->gaps, idx.gaps);
}

TEST(SegmentIndexCodec, HeaderAndTrailerRoundTrip) {
  const segment_header h{"orders", 3, frame_codec::zstd, 42};
  byte_vector head;
  detail::write_header(head, h, 3);
  ASSERT_EQ(head.size(), layout::header_fixed_size + 6);
  auto back = detail::parse_header(head, "t");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, h);

  const std::uint64_t file_size = 1000;
  const std::uint64_t index_length = 200;
  byte_vector trailer;
  detail::write_trailer(trailer, file_size - layout::trailer_size - index_length, index_length, 11, 22);
  ASSERT_EQ(trailer.size(), layout::trailer_size);
  auto t = detail::parse_trailer(trailer, file_size, "t");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->index_offset, file_size - layout::trailer_size - index_length);
  EXPECT_EQ(t->index_length, index_length);
  EXPECT_EQ(t->index_xxh3, 11u);
  EXPECT_EQ(t->file_xxh3, 22u);
  trailer[3] ^= 1;  // any changed byte breaks the trailer's own checksum
  auto bad = detail::parse_trailer(trailer, file_size, "t");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("trailer checksum mismatch"), std::string::npos) << bad.error().message;
}

/// Encodes `idx` (consistent but for what the caller changed) and returns parse_index's error.
std::string index_problem(const segment_index& idx) {
  const auto header_length = header_length_of(idx);
  const auto bytes = detail::encode_index(idx, static_cast<std::uint32_t>(header_length));
  std::uint32_t ignored = 0;
  auto r = detail::parse_index(bytes, header_length + 250, "seg", ignored);
  if (r) return "accepted";
  EXPECT_TRUE(r.error().is(errc::corrupt));
  return r.error().message;
}

TEST(SegmentIndexCodec, InconsistentIndexesNameTheProblem) {
  const auto h = header_length_of(sample(0));
  auto moved = sample(h);
  moved.frames[1].file_offset += 1;
  EXPECT_EQ(index_problem(moved), fmt::format("seg: index frame 1 starts at {}, expected {}", h + 151, h + 150));

  auto misplaced = sample(h);
  misplaced.batches[1].position = 99;
  EXPECT_NE(index_problem(misplaced).find("batch 1 (offset 15) is placed at frame 0 position 99"), std::string::npos);

  auto backwards = sample(h);
  backwards.batches[3].first_offset = 20;
  EXPECT_NE(index_problem(backwards).find("batch 3 offsets 20..29 are not increasing after 20"), std::string::npos);

  auto times = sample(h);
  times.frames[0].max_timestamp += 1;
  EXPECT_EQ(index_problem(times), "seg: index frame 0 timestamps differ from its batches");

  auto txn = sample(h);
  txn.txns[0].last_offset = 5;
  EXPECT_EQ(index_problem(txn), "seg: index txn span 0 runs backwards");

  auto gap = sample(h);
  gap.gaps = {{0, 9}, {12, 13}};
  EXPECT_EQ(index_problem(gap), "seg: index gap 1 (12..13) overlaps stored batch at offset 10");

  auto overlapping = sample(h);
  overlapping.gaps = {{0, 5}, {3, 9}};
  EXPECT_EQ(index_problem(overlapping), "seg: index gap 1 (3..9) is backwards or overlaps the previous one");

  EXPECT_EQ(index_problem(sample(h)), "accepted");
}

}  // namespace
}  // namespace kb::storage::format
