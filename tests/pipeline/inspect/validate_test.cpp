// inspect validate: each finding (corrupt byte found by deep only, truncated or deleted segment,
// checkpoint pointing nowhere, unrecorded gap, bad manifest, segment in the wrong partition).
#include "pipeline/inspect/inspect.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/pipeline/inspect/inspect_fixture.hpp"

namespace kb::pipeline::inspect {
namespace {

using testing::Inspect;
using testing::big_records;
using testing::small_records;
namespace sf = storage::format;
namespace fs = std::filesystem;
using sf::testing::rebased;
using sf::testing::test_batch;

TEST_F(Inspect, CleanBackupValidatesShallowAndDeep) {
  auto shallow = validate(false);
  EXPECT_TRUE(shallow.ok()) << dump(shallow);
  EXPECT_EQ(shallow.segments, 3u);
  EXPECT_EQ(shallow.batches, 4u);
  auto deep = validate(true);
  EXPECT_TRUE(deep.ok()) << dump(deep);
  EXPECT_EQ(deep.batches, 4u) << "each batch split from its frame and CRC-checked";
  EXPECT_EQ(validation_text(deep), "3 segments, 4 batches checked: OK\n");
}

TEST_F(Inspect, CorruptByteInAFrameIsFoundByDeepOnly) {
  auto idx = sf::parse_segment(*store_.get(seg00_));
  ASSERT_TRUE(idx);
  {
    std::fstream f(dir_.path() / seg00_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(idx->frames[0].file_offset + 5));
    f.put('\x5a');
  }
  EXPECT_TRUE(validate(false).ok()) << "the index is intact; only reading the frame shows the damage";
  auto deep = validate(true);
  EXPECT_TRUE(has(deep, seg00_, "frame 0 checksum mismatch")) << dump(deep);
  EXPECT_NE(validation_text(deep).find(": 1 problem\n"), std::string::npos) << dump(deep);
}

TEST_F(Inspect, EveryProblemIsListed) {
  // Truncated segment, deleted segment, checkpoint naming nothing, and an unrecorded gap, at once.
  fs::resize_file(dir_.path() / seg10_, fs::file_size(dir_.path() / seg10_) - 10);
  ASSERT_TRUE(store_.remove(seg01_));
  write_topic("b1", "orders", 3);
  const std::string seg20 = write_segment("b1", "orders", 2, {rebased("none_small.bin", 0)}, sf::frame_codec::none);
  const std::string seg21 = write_segment("b1", "orders", 2, {rebased("none_small.bin", 10)}, sf::frame_codec::none);
  write_checkpoint("b1", "orders", 2, sf::backup_paths{"b1"}.segment("orders", 2, 14, 20), 21, {});

  for (bool deep : {false, true}) {
    auto v = validate(deep);
    EXPECT_TRUE(has(v, seg10_, "too short") || has(v, seg10_, "trailer")) << dump(v);
    EXPECT_TRUE(has(v, "b1/topics/orders/0/checkpoint.json", "last_segment " + seg01_ + " does not exist")) << dump(v);
    EXPECT_TRUE(has(v, "b1/topics/orders/2/checkpoint.json", "does not exist")) << dump(v);
    EXPECT_TRUE(has(v, seg21, "offsets 4..9 between")) << dump(v);
    EXPECT_EQ(v.problems.size(), 4u) << dump(v);
    EXPECT_NE(validation_text(v).find(": 4 problems\n"), std::string::npos);
  }
}

TEST_F(Inspect, RecordedGapBetweenSegmentsIsFine) {
  write_topic("b1", "orders", 3);
  (void)write_segment("b1", "orders", 2, {rebased("none_small.bin", 0)}, sf::frame_codec::none);
  const std::string last = write_segment("b1", "orders", 2, {rebased("none_small.bin", 10)}, sf::frame_codec::none);
  write_checkpoint("b1", "orders", 2, last, 14, {{4, 9}});
  auto v = validate(true);
  EXPECT_TRUE(v.ok()) << dump(v);
}

TEST_F(Inspect, MissingCheckpointAndBadManifestAreFindings) {
  ASSERT_TRUE(store_.remove("b1/topics/orders/1/checkpoint.json"));
  ASSERT_TRUE(store_.put("b1/backup.json", as_bytes("{\"format_version\": 1}")));
  auto v = validate(false);
  EXPECT_TRUE(has(v, "b1/topics/orders/1/checkpoint.json", "missing")) << dump(v);
  EXPECT_TRUE(has(v, "b1/backup.json", "'tool_version' is missing")) << dump(v);
  EXPECT_TRUE(has(v, "b1/topics/orders/topic.json", "not listed in backup.json")) << dump(v);
}

TEST_F(Inspect, SegmentInTheWrongPartitionIsAFinding) {
  auto bytes = store_.get(seg10_);
  ASSERT_TRUE(bytes);
  const std::string moved = sf::backup_paths{"b1"}.segment("orders", 0, 100, 103);
  ASSERT_TRUE(store_.put(moved, *bytes));
  auto v = validate(false);
  EXPECT_TRUE(has(v, moved, "holds orders-1, not orders-0")) << dump(v);
}

}  // namespace
}  // namespace kb::pipeline::inspect
