// Which producer a target partition is written with across runs (pipeline/restore/producer_identity.hpp):
// a fresh one recorded with its origin, a saved one continued at target end - origin, and a fresh
// one again whenever the saved fields cannot describe the partition.
#include <gtest/gtest.h>

#include "pipeline/restore/producer_identity.hpp"

namespace kb::pipeline::restore {
namespace {

partition_state saved(std::int64_t id, std::int16_t epoch, std::int64_t origin) {
  partition_state s;
  s.producer_id = id;
  s.producer_epoch = epoch;
  s.sequence_origin = origin;
  return s;
}

TEST(producer_identity, a_partition_without_a_producer_takes_the_fresh_one_from_its_end_offset) {
  partition_state s;
  std::vector<partition_state*> v{&s};
  const auto p = choose_lane_producer(v, 120, 9000, 0);
  EXPECT_EQ(p.id, 9000);
  EXPECT_EQ(p.epoch, 0);
  EXPECT_EQ(p.first_sequence, 0);
  EXPECT_FALSE(p.continued);
  EXPECT_EQ(s.producer_id, 9000);
  EXPECT_EQ(s.producer_epoch, 0);
  EXPECT_EQ(s.sequence_origin, 120);
}

TEST(producer_identity, a_saved_producer_is_continued_at_end_minus_origin) {
  auto s = saved(4001, 2, 100);
  std::vector<partition_state*> v{&s};
  const auto p = choose_lane_producer(v, 164, 9000, 0);
  EXPECT_TRUE(p.continued);
  EXPECT_EQ(p.id, 4001);
  EXPECT_EQ(p.epoch, 2);
  EXPECT_EQ(p.first_sequence, 64);
  EXPECT_EQ(s.producer_id, 4001);  // unchanged
  EXPECT_EQ(s.sequence_origin, 100);
}

TEST(producer_identity, sources_that_disagree_all_take_the_fresh_producer) {
  auto a = saved(4001, 0, 10);
  auto b = saved(4002, 0, 10);
  std::vector<partition_state*> v{&a, &b};
  const auto p = choose_lane_producer(v, 50, 9000, 1);
  EXPECT_FALSE(p.continued);
  EXPECT_EQ(p.id, 9000);
  for (const auto* s : v) {
    EXPECT_EQ(s->producer_id, 9000);
    EXPECT_EQ(s->producer_epoch, 1);
    EXPECT_EQ(s->sequence_origin, 50);
  }
}

TEST(producer_identity, sources_that_agree_continue_together) {
  auto a = saved(4001, 0, 10);
  auto b = saved(4001, 0, 10);
  std::vector<partition_state*> v{&a, &b};
  const auto p = choose_lane_producer(v, 30, 9000, 0);
  EXPECT_TRUE(p.continued);
  EXPECT_EQ(p.first_sequence, 20);
}

TEST(producer_identity, an_origin_above_the_end_cannot_be_continued) {
  auto s = saved(4001, 0, 200);
  std::vector<partition_state*> v{&s};
  const auto p = choose_lane_producer(v, 150, 9000, 0);
  EXPECT_FALSE(p.continued);
  EXPECT_EQ(s.sequence_origin, 150);
}

TEST(producer_identity, sequences_wrap_after_the_largest_int32) {
  EXPECT_EQ(sequence_at(100, 100), 0);
  EXPECT_EQ(sequence_at((std::int64_t{1} << 31) + 5, 0), 5);
  EXPECT_EQ(sequence_at((std::int64_t{1} << 31) - 1, 0), 2147483647);
}

}  // namespace
}  // namespace kb::pipeline::restore
