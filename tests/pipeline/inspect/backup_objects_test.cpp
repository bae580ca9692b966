// backup_objects: one backup's objects grouped by topic and partition (segments sorted by offset,
// checkpoints, stray keys), one partition re-scanned alone, the topic order, backup ids and the
// helpers that format times and sizes.
#include "pipeline/inspect/backup_objects.hpp"

#include <gtest/gtest.h>

#include "tests/pipeline/inspect/inspect_fixture.hpp"

namespace kb::pipeline::inspect {
namespace {

using testing::Inspect;
namespace sf = storage::format;
using sf::testing::rebased;

TEST_F(Inspect, ScanGroupsSegmentsCheckpointsAndStrays) {
  ASSERT_TRUE(store_.put("b1/topics/orders/0/notes.txt", as_bytes(std::string("x"))));
  ASSERT_TRUE(store_.put("b1/topics/stray.bin", as_bytes(std::string("x"))));
  auto objs = scan(store_, sf::backup_paths{"b1"});
  ASSERT_TRUE(objs) << objs.error().message;
  ASSERT_EQ(objs->topics.size(), 1u);
  const auto& t = objs->topics.at("orders");
  EXPECT_TRUE(t.manifest.has_value());
  ASSERT_EQ(t.partitions.size(), 2u);
  const auto& p0 = t.partitions.at(0);
  ASSERT_EQ(p0.segments.size(), 2u);
  EXPECT_EQ(p0.segments[0].object.key, seg00_);
  EXPECT_EQ(p0.segments[0].first, 0);
  EXPECT_EQ(p0.segments[0].last, 303);
  EXPECT_EQ(p0.segments[1].object.key, seg01_);
  EXPECT_EQ(p0.segments[1].first, 304);
  EXPECT_TRUE(p0.checkpoint.has_value());
  EXPECT_EQ(p0.strays, std::vector<std::string>{"b1/topics/orders/0/notes.txt"});
  const auto& p1 = t.partitions.at(1);
  ASSERT_EQ(p1.segments.size(), 1u);
  EXPECT_EQ(p1.segments[0].first, 0);  // the recorded gap [0..99] starts the segment's range
  EXPECT_EQ(objs->strays, std::vector<std::string>{"b1/topics/stray.bin"});

  auto again = scan_partition(store_, sf::backup_paths{"b1"}, "orders", 0);
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again->segments.size(), 2u);
  EXPECT_EQ(again->segments[0].object.key, seg00_);
  EXPECT_EQ(again->strays, p0.strays);
}

TEST_F(Inspect, TopicOrderIsTheManifestsThenStorageOnly) {
  write_topic("b1", "audit", 1);
  write_segment("b1", "audit", 0, {rebased("none_small.bin", 0)}, sf::frame_codec::none);
  auto objs = scan(store_, sf::backup_paths{"b1"});
  ASSERT_TRUE(objs) << objs.error().message;
  sf::backup_manifest m;
  m.topics = {"orders", "gone"};
  EXPECT_EQ(topic_order(&m, *objs), (std::vector<std::string>{"orders", "gone", "audit"}));
  EXPECT_EQ(topic_order(nullptr, *objs), (std::vector<std::string>{"audit", "orders"}));
}

TEST_F(Inspect, BackupIdsAndRequireBackup) {
  write_manifest("b0", {});
  auto ids = backup_ids(store_);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<std::string>{"b0", "b1"}));
  EXPECT_TRUE(require_backup(store_, "b1"));
  auto missing = require_backup(store_, "b9");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(errc::not_found));
  EXPECT_NE(missing.error().message.find("backups there: b0, b1"), std::string::npos) << missing.error().message;
}

TEST(BackupObjects, TimesAndSizes) {
  EXPECT_EQ(when(-1), "-");
  EXPECT_EQ(when(1736899200123), "2025-01-15T00:00:00.123Z");
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(3ull << 30), "3.0 GiB");
}

TEST(BackupObjects, CompactedTopics) {
  sf::topic_manifest t;
  EXPECT_FALSE(is_compacted(t));
  t.configs["cleanup.policy"] = "compact,delete";
  EXPECT_TRUE(is_compacted(t));
  t.configs["cleanup.policy"] = "delete";
  EXPECT_FALSE(is_compacted(t));
}

}  // namespace
}  // namespace kb::pipeline::inspect
