// The segment chain check (holes, overlaps, head and tail against checkpoint.json, recorded
// gaps, compaction) and the segment/key mismatch check, on indexes built by hand.
#include "storage/format/segment_chain.hpp"

#include <deque>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::storage::format {
namespace {

using ::testing::HasSubstr;

TEST(Gaps, MergeJoinsOverlappingAndAdjacent) {
  auto m = merge_gaps({{20, 29}, {0, 4}, {5, 9}, {25, 40}, {50, 50}});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], (offset_gap{0, 9}));
  EXPECT_EQ(m[1], (offset_gap{20, 40}));
  EXPECT_EQ(m[2], (offset_gap{50, 50}));
}

TEST(Gaps, UncoveredLeavesOnlyTheUnrecordedParts) {
  const auto m = merge_gaps({{10, 19}, {30, 39}});
  EXPECT_TRUE(uncovered(m, 10, 19).empty());
  EXPECT_EQ(uncovered(m, 0, 9), (std::vector<offset_gap>{{0, 9}}));
  EXPECT_EQ(uncovered(m, 5, 45), (std::vector<offset_gap>{{5, 9}, {20, 29}, {40, 45}}));
  EXPECT_EQ(uncovered(m, 15, 32), (std::vector<offset_gap>{{20, 29}}));
  EXPECT_EQ(uncovered({}, 3, 4), (std::vector<offset_gap>{{3, 4}}));
}

/// A partition "t-0" whose segments are built from offset ranges, with a checkpoint.
class Chain : public ::testing::Test {
 protected:
  std::string key(std::int64_t first, std::int64_t last) const {
    return "b/topics/t/0/" + segment_file_name(first, last);
  }
  /// A segment of batches of `per` offsets each from first to last.
  void segment(std::int64_t first, std::int64_t last, std::int64_t per = 10, std::vector<offset_gap> gaps = {}) {
    segment_index idx;
    idx.header.topic = "t";
    idx.header.partition = 0;
    for (std::int64_t o = first; o <= last; o += per) {
      batch_entry b;
      b.first_offset = o;
      b.last_offset = std::min(last, o + per - 1);
      b.record_count = static_cast<std::int32_t>(b.last_offset - o + 1);
      idx.batches.push_back(b);
    }
    idx.gaps = std::move(gaps);
    indexes_.push_back(std::move(idx));
    links_.push_back({key(first, last), first, last, &indexes_.back()});
  }
  void checkpoint(std::int64_t first, std::int64_t next, std::string last_segment, std::vector<offset_gap> gaps = {}) {
    cp_ = partition_checkpoint{};
    cp_->topic = "t";
    cp_->first_offset = first;
    cp_->next_offset = next;
    cp_->last_segment = std::move(last_segment);
    cp_->gaps = std::move(gaps);
  }
  chain_report check(bool compacted = false) {
    return check_chain(links_, cp_ ? &*cp_ : nullptr, "b/topics/t/0/checkpoint.json", compacted);
  }
  void drop(std::size_t i) { links_.erase(links_.begin() + static_cast<std::ptrdiff_t>(i)); }

  std::deque<segment_index> indexes_;  // stable addresses for the links
  std::vector<chain_link> links_;
  std::optional<partition_checkpoint> cp_;
};

std::string dump(const chain_report& r) {
  std::string s;
  for (const auto& f : r.findings) s += f.key + ": " + f.problem + "\n";
  return s;
}

TEST_F(Chain, ContiguousChainUpToTheCheckpointIsFine) {
  segment(0, 99);
  segment(100, 199);
  segment(200, 249);
  checkpoint(0, 250, key(200, 249));
  auto r = check();
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST_F(Chain, DeletedMiddleSegmentIsAHoleNamingTheRange) {
  segment(0, 99);
  segment(100, 199);
  segment(200, 249);
  checkpoint(0, 250, key(200, 249));
  drop(1);
  auto r = check();
  ASSERT_EQ(r.holes().size(), 1u) << dump(r);
  const auto& h = *r.holes()[0];
  EXPECT_EQ(h.first_offset, 100);
  EXPECT_EQ(h.last_offset, 199);
  EXPECT_EQ(h.key, key(200, 249));
  EXPECT_THAT(h.problem, HasSubstr("offsets 100..199 between " + key(0, 99)));
  EXPECT_TRUE(check(true).findings.empty()) << "compaction may remove offsets between segments";
}

TEST_F(Chain, DeletedLastSegmentIsAHoleEvenWhenCompacted) {
  segment(0, 99);
  segment(100, 199);
  checkpoint(0, 200, key(100, 199));
  drop(1);
  for (bool compacted : {false, true}) {
    auto r = check(compacted);
    ASSERT_EQ(r.holes().size(), 1u) << dump(r);
    EXPECT_EQ(r.holes()[0]->first_offset, 100);
    EXPECT_EQ(r.holes()[0]->last_offset, 199);
    EXPECT_EQ(r.holes()[0]->key, "b/topics/t/0/checkpoint.json");
    EXPECT_THAT(r.holes()[0]->problem, HasSubstr("last_segment " + key(100, 199) + " does not exist: offsets 100..199"));
  }
}

TEST_F(Chain, EverySegmentDeletedIsOneHoleFromTheCheckpointsStart) {
  segment(50, 99);
  checkpoint(50, 100, key(50, 99));
  drop(0);
  auto r = check();
  ASSERT_EQ(r.holes().size(), 1u) << dump(r);
  EXPECT_EQ(r.holes()[0]->first_offset, 50);
  EXPECT_EQ(r.holes()[0]->last_offset, 99);
}

TEST_F(Chain, DeletedFirstSegmentIsAHoleBeforeTheChain) {
  segment(0, 99);
  segment(100, 199);
  checkpoint(0, 200, key(100, 199));
  drop(0);
  auto r = check(true);
  ASSERT_EQ(r.holes().size(), 1u) << dump(r);
  EXPECT_EQ(r.holes()[0]->first_offset, 0);
  EXPECT_EQ(r.holes()[0]->last_offset, 99);
  EXPECT_THAT(r.holes()[0]->problem, HasSubstr("before this segment"));
}

TEST_F(Chain, RecordedGapsCoverHolesAndOnlyTheRestIsReported) {
  segment(0, 99);
  segment(300, 399);
  checkpoint(0, 400, key(300, 399), {{100, 149}});
  auto r = check();
  ASSERT_EQ(r.holes().size(), 1u) << dump(r);
  EXPECT_EQ(r.holes()[0]->first_offset, 150);
  EXPECT_EQ(r.holes()[0]->last_offset, 299);

  // The rest recorded in the next segment's own index: no hole.
  indexes_.back().gaps = {{150, 299}};
  EXPECT_TRUE(check().holes().empty()) << dump(check());
}

TEST_F(Chain, MissingBatchesInsideASegmentAreAHole) {
  segment(0, 99);
  indexes_.back().batches.erase(indexes_.back().batches.begin() + 3);  // offsets 30..39
  checkpoint(0, 100, key(0, 99));
  auto r = check();
  ASSERT_EQ(r.holes().size(), 1u) << dump(r);
  EXPECT_EQ(r.holes()[0]->first_offset, 30);
  EXPECT_EQ(r.holes()[0]->last_offset, 39);
  EXPECT_THAT(r.holes()[0]->problem, HasSubstr("inside the segment"));
  EXPECT_TRUE(check(true).holes().empty());
}

// Two writers on one partition for a moment (a zombie worker, DESIGN §5 inv. 5): the shared
// offsets hold the same batches, so the overlap is accepted and listed for validate --deep.
TEST_F(Chain, OverlapHoldingTheSameBatchesIsAcceptedAndListed) {
  segment(0, 99);
  segment(50, 149);
  checkpoint(0, 150, key(50, 149));
  auto r = check();
  EXPECT_TRUE(r.findings.empty()) << dump(r);
  ASSERT_EQ(r.overlaps.size(), 1u);
  EXPECT_EQ(r.overlaps[0].key, key(50, 149));
  EXPECT_EQ(r.overlaps[0].other_key, key(0, 99));
  EXPECT_EQ(r.overlaps[0].first_offset, 50);
  EXPECT_EQ(r.overlaps[0].last_offset, 99);
}

TEST_F(Chain, ZombieSegmentInsideALongerOneIsAccepted) {
  segment(0, 149);
  segment(50, 99);  // sorted after (0, 149): every offset it holds is held already
  segment(150, 199);
  checkpoint(0, 200, key(150, 199));
  auto r = check();
  EXPECT_TRUE(r.findings.empty()) << dump(r);
  ASSERT_EQ(r.overlaps.size(), 1u);
  EXPECT_EQ(r.overlaps[0].key, key(50, 99));
  EXPECT_EQ(r.overlaps[0].other_key, key(0, 149));
  EXPECT_EQ(r.overlaps[0].first_offset, 50);
  EXPECT_EQ(r.overlaps[0].last_offset, 99);
}

TEST_F(Chain, OverlapsAcrossSeveralSegmentsAreComparedWithTheFirstCopy) {
  segment(0, 99);
  segment(50, 149);
  segment(100, 199);
  checkpoint(0, 200, key(100, 199));
  auto r = check();
  EXPECT_TRUE(r.findings.empty()) << dump(r);
  ASSERT_EQ(r.overlaps.size(), 2u);
  EXPECT_EQ(r.overlaps[1].key, key(100, 199));
  EXPECT_EQ(r.overlaps[1].other_key, key(50, 149));
  EXPECT_EQ(r.overlaps[1].first_offset, 100);
  EXPECT_EQ(r.overlaps[1].last_offset, 149);
}

TEST_F(Chain, OverlapWithOtherBatchBoundariesIsAFindingNamingBothSegments) {
  segment(0, 99);
  segment(50, 149, 25);  // 50..74 where the first segment holds 50..59
  checkpoint(0, 150, key(50, 149));
  auto r = check();
  ASSERT_EQ(r.findings.size(), 1u) << dump(r);
  EXPECT_EQ(r.findings[0].kind, chain_issue::overlap);
  EXPECT_EQ(r.findings[0].key, key(50, 149));
  EXPECT_EQ(r.findings[0].first_offset, 50);
  EXPECT_EQ(r.findings[0].last_offset, 99);
  EXPECT_THAT(r.findings[0].problem, HasSubstr("offsets 50..99 are also held by " + key(0, 99)));
  EXPECT_THAT(r.findings[0].problem, HasSubstr("at offset 50 this segment holds batch 50..74"));
  EXPECT_THAT(r.findings[0].problem, HasSubstr("holds batch 50..59"));
  EXPECT_TRUE(r.holes().empty());
}

TEST_F(Chain, OverlapWhoseBatchDiffersInSizeOrProducerIsAFinding) {
  for (int field = 0; field < 3; ++field) {
    indexes_.clear();
    links_.clear();
    segment(0, 99);
    segment(80, 179);
    auto& b = indexes_.back().batches[1];  // 90..99, also in the first segment
    if (field == 0) b.size += 1;
    if (field == 1) b.producer_id = 7;
    if (field == 2) b.max_timestamp = 12345;
    auto r = check();
    ASSERT_EQ(r.findings.size(), 1u) << dump(r);
    EXPECT_EQ(r.findings[0].kind, chain_issue::overlap);
    EXPECT_THAT(r.findings[0].problem, HasSubstr("at offset 90"));
    EXPECT_EQ(r.findings[0].first_offset, 80);
    EXPECT_EQ(r.findings[0].last_offset, 99);
  }
}

TEST_F(Chain, OverlapBatchStraddlingTheEarlierEndIsAFinding) {
  segment(0, 99);
  segment(95, 194, 10);  // 95..104 cannot be a batch the first segment holds
  auto r = check();
  ASSERT_EQ(r.findings.size(), 1u) << dump(r);
  EXPECT_THAT(r.findings[0].problem, HasSubstr("holds no batch starting at offset 95"));
}

TEST_F(Chain, OverlapWithAnUnreadableIndexCannotBeAccepted) {
  segment(0, 99);
  segment(50, 149);
  links_.back().index = nullptr;
  auto r = check();
  ASSERT_EQ(r.findings.size(), 1u) << dump(r);
  EXPECT_EQ(r.findings[0].kind, chain_issue::overlap);
  EXPECT_THAT(r.findings[0].problem, HasSubstr("cannot be compared"));
}

// DESIGN §5 inv. 6: a retention reset recorded 1000..2999 in one segment; the next fetch at 3000
// returned the whole batch 1000..4999, stored in the next segment with its own gap 1000..2999.
TEST_F(Chain, BatchHoldingTheLogStartMayBeginInsideThePreviousSegmentsGap) {
  segment(0, 999, 100);
  {
    segment_index gap_only;
    gap_only.header = {"t", 0, frame_codec::none, 1};
    gap_only.gaps = {{1000, 2999}};
    indexes_.push_back(std::move(gap_only));
    links_.push_back({key(1000, 2999), 1000, 2999, &indexes_.back()});
  }
  segment(1000, 4999, 4000, {{1000, 2999}});
  segment(5000, 5099);
  checkpoint(0, 5100, key(5000, 5099), {{1000, 2999}});
  auto r = check();
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST_F(Chain, SegmentBeginningInsideThePreviousOneWithoutItsOwnGapOverlaps) {
  segment(0, 999, 100);
  {
    segment_index gap_only;
    gap_only.header = {"t", 0, frame_codec::none, 1};
    gap_only.gaps = {{1000, 2999}};
    indexes_.push_back(std::move(gap_only));
    links_.push_back({key(1000, 2999), 1000, 2999, &indexes_.back()});
  }
  segment(1000, 4999, 4000);  // records 1000..2999 would be restored although they were deleted
  checkpoint(0, 5000, key(1000, 4999), {{1000, 2999}});
  auto r = check();
  ASSERT_EQ(r.findings.size(), 1u) << dump(r);
  EXPECT_EQ(r.findings[0].kind, chain_issue::overlap);
  EXPECT_EQ(r.findings[0].first_offset, 1000);
  EXPECT_EQ(r.findings[0].last_offset, 2999);
}

TEST_F(Chain, CheckpointPastTheLastSegmentIsAHole) {
  segment(0, 99);
  checkpoint(0, 150, key(0, 99));
  auto r = check();
  ASSERT_EQ(r.holes().size(), 1u) << dump(r);
  EXPECT_EQ(r.holes()[0]->first_offset, 100);
  EXPECT_EQ(r.holes()[0]->last_offset, 149);
}

TEST_F(Chain, CheckpointBehindItsSegmentIsInconsistentNotAHole) {
  segment(0, 99);
  checkpoint(0, 50, key(0, 99));
  auto r = check();
  ASSERT_EQ(r.findings.size(), 1u) << dump(r);
  EXPECT_EQ(r.findings[0].kind, chain_issue::inconsistent);
  EXPECT_THAT(r.findings[0].problem, HasSubstr("next_offset 50 is not past"));
}

TEST_F(Chain, WithoutACheckpointOnlyTheSegmentsAreChecked) {
  segment(0, 99);
  segment(200, 299);
  auto r = check();
  ASSERT_EQ(r.holes().size(), 1u) << dump(r);
  EXPECT_EQ(r.holes()[0]->first_offset, 100);
}

TEST_F(Chain, SegmentsAfterTheCheckpointAreFine) {
  // Uploaded before a crash, not yet checkpointed: the chain goes on past next_offset.
  segment(0, 99);
  segment(100, 199);
  checkpoint(0, 100, key(0, 99));
  EXPECT_TRUE(check().findings.empty()) << dump(check());
}

TEST(SegmentMismatch, NamesTheOtherPartitionOrTheOffsets) {
  segment_index idx;
  idx.header.topic = "t";
  idx.header.partition = 1;
  batch_entry b;
  b.first_offset = 0;
  b.last_offset = 9;
  idx.batches.push_back(b);
  EXPECT_EQ(segment_mismatch(idx, "t", 1, 0, 9), std::nullopt);
  EXPECT_THAT(segment_mismatch(idx, "t", 0, 0, 9).value_or(""), HasSubstr("holds t-1, not t-0"));
  EXPECT_THAT(segment_mismatch(idx, "u", 1, 0, 9).value_or(""), HasSubstr("holds t-1, not u-1"));
  EXPECT_THAT(segment_mismatch(idx, "t", 1, 10, 19).value_or(""), HasSubstr("name says offsets 10..19, its index 0..9"));
}

}  // namespace
}  // namespace kb::storage::format
