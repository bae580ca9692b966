// The byte check of an overlap (validate --deep): two real segments over a filesystem store that
// share offsets, stored with other codecs and frame sizes (same batches, other file bytes), and
// a copy whose batch differs in a byte its index does not record.
#include "storage/format/segment_overlap.hpp"

#include <deque>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"
#include "test_batches.hpp"

namespace kb::storage::format {
namespace {

using ::testing::HasSubstr;
using testing::batch_run;
using testing::build_segment;

class Overlap : public ::testing::Test {
 protected:
  Overlap() : store_(dir_.path()) {}

  /// Stores `batches` as one segment and returns its link.
  chain_link put(const std::vector<testing::test_batch>& batches, frame_codec codec, std::uint32_t frame_target) {
    const auto bytes = build_segment(batches, codec, frame_target);
    const auto first = batches.front().entry.first_offset;
    const auto last = batches.back().entry.last_offset;
    const std::string key = "b/topics/orders/3/" + segment_file_name(first, last);
    EXPECT_TRUE(store_.put(key, bytes).has_value());
    auto idx = parse_segment(bytes);
    EXPECT_TRUE(idx.has_value()) << (idx ? "" : idx.error().message);
    indexes_.push_back(std::move(*idx));
    return {key, first, last, &indexes_.back()};
  }

  testing::temp_dir dir_;
  filesystem_store store_;
  std::deque<segment_index> indexes_;
};

TEST_F(Overlap, SameBatchesInOtherFramesAndCodecsAreTheSame) {
  const auto run = batch_run(0, 12);
  const auto earlier = put({run.begin(), run.begin() + 8}, frame_codec::zstd, 1u << 20);
  const auto later = put({run.begin() + 4, run.end()}, frame_codec::lz4, 600);  // several small frames
  const auto first = run[4].entry.first_offset;
  const auto last = run[7].entry.last_offset;

  // The chain accepts it from the indexes and lists it.
  const std::vector<chain_link> links{earlier, later};
  const auto chain = check_chain(links, nullptr, "cp", false);
  EXPECT_TRUE(chain.findings.empty()) << chain.findings.front().problem;
  ASSERT_EQ(chain.overlaps.size(), 1u);
  EXPECT_EQ(chain.overlaps[0].first_offset, first);
  EXPECT_EQ(chain.overlaps[0].last_offset, last);

  auto same = compare_overlap(store_, later, earlier, first, last);
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_FALSE(same->has_value()) << **same;
}

TEST_F(Overlap, ABatchDifferingOnlyInBytesTheIndexDoesNotRecordIsFound) {
  const auto run = batch_run(0, 10);
  auto tampered = run;
  // The partition leader epoch is in no index entry and outside the CRC: only the bytes tell.
  protocol::batch_header_patch p;
  p.partition_leader_epoch = 99;
  ASSERT_TRUE(protocol::patch_batch_header(tampered[6].bytes, p).has_value());
  const auto earlier = put({run.begin(), run.begin() + 8}, frame_codec::none, 1u << 20);
  const auto later = put({tampered.begin() + 5, tampered.end()}, frame_codec::zstd, 1u << 20);

  const std::vector<chain_link> links{earlier, later};
  const auto chain = check_chain(links, nullptr, "cp", false);
  ASSERT_TRUE(chain.findings.empty()) << "the indexes agree";
  ASSERT_EQ(chain.overlaps.size(), 1u);

  auto same = compare_overlap(store_, later, earlier, chain.overlaps[0].first_offset, chain.overlaps[0].last_offset);
  ASSERT_TRUE(same) << same.error().message;
  ASSERT_TRUE(same->has_value());
  EXPECT_THAT(**same, HasSubstr("the batch " + std::to_string(run[6].entry.first_offset) + ".." +
                                std::to_string(run[6].entry.last_offset) + " differs from byte"));
}

TEST_F(Overlap, AnUnreadableCopyIsAnError) {
  const auto run = batch_run(0, 6);
  const auto earlier = put({run.begin(), run.begin() + 4}, frame_codec::none, 1u << 20);
  const auto later = put({run.begin() + 2, run.end()}, frame_codec::none, 1u << 20);
  ASSERT_TRUE(store_.remove(earlier.key).has_value());
  auto same = compare_overlap(store_, later, earlier, run[2].entry.first_offset, run[3].entry.last_offset);
  ASSERT_FALSE(same);
}

}  // namespace
}  // namespace kb::storage::format
