// The pipeline's own v1 documents against committed fixtures (tests/storage/format/fixtures/v1,
// written by the field-by-field code before the Boost.Describe mapping): a restore's state.json,
// workers.json and an owner record must still decode to the values written below by hand. A
// failure means a build can no longer resume what an earlier build left: fix the reader.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/backup/worker_marks.hpp"
#include "pipeline/restore/offset_map.hpp"

namespace kb::pipeline {
namespace {

namespace fs = std::filesystem;

const fs::path root = KB_FORMAT_FIXTURES;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in) << p;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(documents_v1_fixtures, restore_state) {
  auto s = restore::parse_restore_state(slurp(root / "fixture/restores/r1/state.json"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->restore_id, "r1");
  EXPECT_EQ(s->backup_id, "fixture");
  EXPECT_EQ(s->updated_ms, 1700000100000);
  ASSERT_EQ(s->partitions.size(), 2u);
  const auto& p = s->partitions[0];
  EXPECT_EQ(p.source_topic, "orders");
  EXPECT_EQ(p.source_partition, 3);
  EXPECT_EQ(p.target_topic, "orders-copy");
  EXPECT_EQ(p.target_partition, 3);
  EXPECT_EQ(p.target_topic_id, "5f2c3a1e7b4d4e8f9a601c2d3e4f5a6b");
  EXPECT_EQ(p.next_source_offset, 110);
  EXPECT_EQ(p.target_end, 9);
  EXPECT_EQ(p.records, 9u);
  EXPECT_EQ(p.bytes, 468u);
  EXPECT_TRUE(p.done);
  EXPECT_EQ(p.producer_id, 4000);
  EXPECT_EQ(p.producer_epoch, 2);
  EXPECT_EQ(p.sequence_origin, 0);
  ASSERT_EQ(p.map.ranges().size(), 2u);
  EXPECT_EQ(p.map.ranges()[0].source_first, 100);
  EXPECT_EQ(p.map.ranges()[0].target_first, 0);
  EXPECT_EQ(p.map.ranges()[0].count, 7);
  EXPECT_EQ(p.map.ranges()[1].source_first, 108);
  EXPECT_EQ(p.map.ranges()[1].target_first, 7);
  EXPECT_EQ(p.map.ranges()[1].count, 2);
  const auto& q = s->partitions[1];  // repartitioned, nothing written yet: the optional fields absent
  EXPECT_EQ(q.source_partition, 0);
  EXPECT_EQ(q.target_partition, -1);
  EXPECT_EQ(q.target_topic_id, "");
  EXPECT_EQ(q.next_source_offset, 0);
  EXPECT_EQ(q.target_end, -1);
  EXPECT_FALSE(q.done);
  EXPECT_EQ(q.producer_id, -1);
  EXPECT_EQ(q.producer_epoch, -1);
  EXPECT_EQ(q.sequence_origin, -1);
  EXPECT_TRUE(q.map.ranges().empty());
}

TEST(documents_v1_fixtures, workers_marker) {
  auto m = backup::parse_workers_marker(slurp(root / "fixture/workers.json"));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->group_id, "kb-workers");
  EXPECT_EQ(m->member_id, "member-2");
  EXPECT_EQ(m->generation, 7);
  EXPECT_EQ(m->updated_ms, 1700000050000);
  EXPECT_EQ(m->expires_ms, 1700000080000);
}

TEST(documents_v1_fixtures, owner_record) {
  auto o = backup::parse_partition_owner(slurp(root / "fixture/owners/orders/3.json"));
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->group_id, "kb-workers");
  EXPECT_EQ(o->current(), (backup::owner_term{"member-2", "", 7, 1700000040000, 100, -1, 0}));
  EXPECT_EQ(o->history, (std::vector<backup::owner_term>{{"member-1", "static-1", 6, 1700000010000, 0, 100, 1700000039000},
                                                         {"member-0", "", 5, 1700000001000, -1, -1, 0}}));
}

/// Written byte for byte as before: the same names, order and left-out optional fields.
TEST(documents_v1_fixtures, documents_are_written_as_before) {
  const auto state = slurp(root / "fixture/restores/r1/state.json");
  EXPECT_EQ(restore::to_json(*restore::parse_restore_state(state)), state);
  const auto workers = slurp(root / "fixture/workers.json");
  EXPECT_EQ(backup::to_json(*backup::parse_workers_marker(workers)), workers);
  const auto owner = slurp(root / "fixture/owners/orders/3.json");
  EXPECT_EQ(backup::to_json(*backup::parse_partition_owner(owner)), owner);
}

}  // namespace
}  // namespace kb::pipeline
