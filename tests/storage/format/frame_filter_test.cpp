// Format version 2: a segment whose frames went through a frame filter before compression. The
// filter here is a stand-in that reverses the bytes (storage must not care what a filter does).
#include "storage/format/frame_filter.hpp"

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "storage/filesystem_store.hpp"
#include "storage/format/segment.hpp"
#include "storage/format/segment_layout.hpp"
#include "tests/storage/format/test_batches.hpp"

namespace kb::storage::format {
namespace {

using testing::batch_run;
using testing::build_segment;

void reverse_encode(byte_view raw, byte_vector& out) {
  out.assign(raw.rbegin(), raw.rend());
  out.push_back(0x7E);  // so that the filtered form differs in size from the raw bytes
}

kb::result<byte_vector> reverse_decode(byte_view filtered, std::size_t raw_size) {
  if (filtered.size() != raw_size + 1 || filtered.back() != 0x7E) return fail(errc::corrupt, "not reversed");
  return byte_vector(filtered.rbegin() + 1, filtered.rend());
}

void install_reverse() {
  install_frame_filter(batch_columns_filter, frame_filter{"reverse", &reverse_encode, &reverse_decode});
}

std::uint16_t u16_at(const byte_vector& b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8));
}

void put_u64(byte_vector& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

/// Sets the index's filter byte and re-seals every checksum, as a writer of that id would.
byte_vector with_filter_byte(byte_vector seg, std::uint8_t id) {
  const std::size_t t = seg.size() - layout::trailer_size;
  std::uint64_t index_offset = 0, index_length = 0;
  for (int i = 7; i >= 0; --i) {
    index_offset = (index_offset << 8) | seg[t + static_cast<std::size_t>(i)];
    index_length = (index_length << 8) | seg[t + 8 + static_cast<std::size_t>(i)];
  }
  seg[index_offset + 7] = id;
  put_u64(seg, t + 16, XXH3_64bits(seg.data() + index_offset, index_length));
  put_u64(seg, t + 24, XXH3_64bits(seg.data(), t));
  byte_vector covered(seg.begin() + static_cast<std::ptrdiff_t>(t), seg.begin() + static_cast<std::ptrdiff_t>(t) + 32);
  covered.insert(covered.end(), seg.begin() + static_cast<std::ptrdiff_t>(t) + 40, seg.end());
  put_u64(seg, t + 32, XXH3_64bits(covered.data(), covered.size()));
  return seg;
}

byte_vector filtered_segment() {
  install_reverse();
  segment_builder::options o;
  o.header = {"orders", 3, frame_codec::zstd, 1'700'000'000'000, batch_columns_filter};
  segment_builder b(o);
  std::vector<segment_builder::raw_frame> sealed;
  for (const auto& t : batch_run(0, 3))
    if (auto f = b.append(t.bytes, t.entry)) sealed.push_back(std::move(*f));
  return testing::finish_segment(std::move(b), std::move(sealed));
}

TEST(frame_filter, a_filtered_segment_is_version_2_and_reads_back_its_raw_batches) {
  install_reverse();
  const auto batches = batch_run(0, 12);
  for (const frame_codec codec : {frame_codec::zstd, frame_codec::lz4}) {
    segment_builder::options o;
    o.header = {"orders", 3, codec, 1'700'000'000'000, batch_columns_filter};
    o.frame_target_bytes = 4 * 1024;
    segment_builder b(o);
    std::vector<segment_builder::raw_frame> sealed;
    for (const auto& t : batches)
      if (auto f = b.append(t.bytes, t.entry)) sealed.push_back(std::move(*f));
    const byte_vector seg = testing::finish_segment(std::move(b), std::move(sealed));
    ASSERT_FALSE(seg.empty());
    EXPECT_EQ(u16_at(seg, 4), 2) << "header version";
    EXPECT_EQ(u16_at(seg, seg.size() - layout::trailer_size + layout::trailer_version_at), 2) << "trailer version";

    auto idx = parse_segment(seg);
    ASSERT_TRUE(idx) << idx.error().message;
    EXPECT_EQ(idx->header.filter, batch_columns_filter);
    EXPECT_GT(idx->frames.size(), 1u);

    testing::temp_dir dir;
    filesystem_store store(dir.path());
    ASSERT_TRUE(store.put("s.kbs", seg));
    auto ranged = read_segment_index(store, "s.kbs");
    ASSERT_TRUE(ranged) << ranged.error().message;
    EXPECT_EQ(ranged->header.filter, batch_columns_filter);
    std::size_t next = 0;
    for (std::uint32_t f = 0; f < ranged->frames.size(); ++f) {
      auto raw = read_frame(store, "s.kbs", *ranged, f);
      ASSERT_TRUE(raw) << raw.error().message;
      std::size_t at = 0;
      for (std::uint32_t i = 0; i < ranged->frames[f].batch_count; ++i, ++next) {
        const auto& want = batches.at(next).bytes;
        ASSERT_LE(at + want.size(), raw->size());
        EXPECT_TRUE(std::equal(want.begin(), want.end(), raw->begin() + static_cast<std::ptrdiff_t>(at)))
            << "frame " << f << " batch " << i;
        at += want.size();
      }
      EXPECT_EQ(at, raw->size());
    }
    EXPECT_EQ(next, batches.size());
  }
}

TEST(frame_filter, an_unfiltered_segment_stays_version_1) {
  const byte_vector seg = build_segment(batch_run(0, 3), frame_codec::zstd);
  EXPECT_EQ(u16_at(seg, 4), 1);
  auto idx = parse_segment(seg);
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_EQ(idx->header.filter, no_frame_filter);
}

TEST(frame_filter, a_filter_needs_a_compressing_codec) {
  install_reverse();
  segment_builder::options o;
  o.header = {"orders", 3, frame_codec::none, 1'700'000'000'000, batch_columns_filter};
  segment_builder b(o);
  const auto batches = batch_run(0, 1);
  (void)b.append(batches[0].bytes, batches[0].entry);
  auto f = b.seal_frame();
  ASSERT_TRUE(f);
  EXPECT_FALSE(encode_frame(frame_codec::none, 0, f->raw, batch_columns_filter));
  auto seg = std::move(b).finish({f->raw});
  ASSERT_FALSE(seg);
  EXPECT_TRUE(seg.error().is(errc::internal)) << seg.error().message;
}

TEST(frame_filter, an_unknown_filter_id_is_unsupported_and_names_a_newer_version) {
  auto r = find_frame_filter(3);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::unsupported)) << r.error().message;
  EXPECT_NE(r.error().message.find("newer"), std::string::npos);
  EXPECT_FALSE(known_frame_filter(0));
  EXPECT_TRUE(known_frame_filter(1));
}

TEST(frame_filter, a_segment_naming_an_unknown_filter_is_unsupported) {
  const byte_vector seg = filtered_segment();
  ASSERT_TRUE(parse_segment(with_filter_byte(seg, batch_columns_filter))) << "the helper re-seals correctly";
  auto r = parse_segment(with_filter_byte(seg, 3));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::unsupported)) << r.error().message;
  EXPECT_NE(r.error().message.find("frame filter 3"), std::string::npos) << r.error().message;
}

TEST(frame_filter, a_filtered_frame_whose_content_lies_about_its_size_is_corrupt) {
  install_reverse();
  const byte_vector raw(5000, 0x41);
  auto stored = encode_frame(frame_codec::zstd, 3, raw, batch_columns_filter);
  ASSERT_TRUE(stored) << stored.error().message;
  auto back = decode_frame(frame_codec::zstd, *stored, 5000, batch_columns_filter);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, raw);
  // The index says fewer raw bytes than the filter rebuilds, or the content exceeds its bound.
  EXPECT_FALSE(decode_frame(frame_codec::zstd, *stored, 4999, batch_columns_filter));
  EXPECT_FALSE(decode_frame(frame_codec::zstd, *stored, 100, batch_columns_filter));
  EXPECT_FALSE(decode_frame(frame_codec::none, raw, 5000, batch_columns_filter));
}

}  // namespace
}  // namespace kb::storage::format
