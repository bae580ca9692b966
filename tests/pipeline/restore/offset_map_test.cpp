// Offset map ranges: exact lookups, offsets in dropped records map to the next restored record,
// offsets past the end map to the end; the state round-trips through its JSON.
#include "pipeline/restore/offset_map.hpp"

#include <gtest/gtest.h>

namespace kb::pipeline::restore {
namespace {

TEST(offset_map, contiguous_adds_merge_into_one_range) {
  offset_map m;
  ASSERT_TRUE(m.add(0, 500, 10));
  ASSERT_TRUE(m.add(10, 510, 5));
  EXPECT_EQ(m.ranges(), (std::vector<offset_range>{{0, 500, 15}}));
  EXPECT_EQ(m.records(), 15);
}

TEST(offset_map, translate_exact_gap_and_end) {
  offset_map m;
  // Source 10..19 restored at 100..109; 20..29 dropped (window, aborted); 30..34 at 110..114.
  ASSERT_TRUE(m.add(10, 100, 10));
  ASSERT_TRUE(m.add(30, 110, 5));
  EXPECT_EQ(m.ranges().size(), 2u);
  EXPECT_EQ(m.translate(0), 100);   // before everything restored: the first restored record
  EXPECT_EQ(m.translate(10), 100);
  EXPECT_EQ(m.translate(15), 105);
  EXPECT_EQ(m.translate(19), 109);
  EXPECT_EQ(m.translate(20), 110);  // fell into dropped records: the next restored one
  EXPECT_EQ(m.translate(29), 110);
  EXPECT_EQ(m.translate(34), 114);
  EXPECT_EQ(m.translate(35), 115);  // consumed everything: the end
  EXPECT_EQ(m.translate(1000), 115);
  EXPECT_FALSE(offset_map{}.translate(5));
}

TEST(offset_map, out_of_order_add_is_refused) {
  offset_map m;
  ASSERT_TRUE(m.add(10, 0, 5));
  auto r = m.add(12, 5, 1);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::internal));
}

TEST(offset_map, state_round_trips_through_json) {
  restore_state s;
  s.restore_id = std::string("r-1");  // not a literal: g++ 12 -O3 -Wrestrict false positive
  s.backup_id = std::string("b");
  s.updated_ms = 1700000000000;
  partition_state p;
  p.source_topic = std::string("orders");
  p.source_partition = 3;
  p.target_topic = std::string("orders-restored");
  p.target_partition = 1;
  p.next_source_offset = 42;
  p.target_end = 17;
  p.records = 12;
  p.bytes = 3456;
  ASSERT_TRUE(p.map.add(0, 5, 10));
  ASSERT_TRUE(p.map.add(40, 15, 2));
  s.partitions.push_back(p);
  const std::string text = to_json(s);
  EXPECT_NE(text.find("[[0,5,10],[40,15,2]]"), std::string::npos) << text;
  auto back = parse_restore_state(text);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->partitions.size(), 1u);
  const auto& q = back->partitions[0];
  EXPECT_EQ(q.source_topic, "orders");
  EXPECT_EQ(q.target_partition, 1);
  EXPECT_EQ(q.next_source_offset, 42);
  EXPECT_EQ(q.target_end, 17);
  EXPECT_EQ(q.map.ranges(), p.map.ranges());
  EXPECT_FALSE(parse_restore_state("{\"restore_id\":1}"));
  EXPECT_FALSE(parse_restore_state("nope"));
  // No producer yet: the fields are left out, and read back as none.
  EXPECT_EQ(text.find("producer_id"), std::string::npos) << text;
  EXPECT_EQ(q.producer_id, -1);
  EXPECT_EQ(q.sequence_origin, -1);
}

TEST(offset_map, the_producer_a_partition_is_written_with_round_trips_through_json) {
  restore_state s;
  s.restore_id = std::string("r-1");
  s.backup_id = std::string("b");
  partition_state p;
  p.source_topic = std::string("orders");
  p.target_topic = std::string("orders-restored");
  p.target_end = 17;
  p.producer_id = 4001;
  p.producer_epoch = 3;
  p.sequence_origin = 12;
  s.partitions.push_back(p);
  auto back = parse_restore_state(to_json(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->partitions[0].producer_id, 4001);
  EXPECT_EQ(back->partitions[0].producer_epoch, 3);
  EXPECT_EQ(back->partitions[0].sequence_origin, 12);
}

}  // namespace
}  // namespace kb::pipeline::restore
