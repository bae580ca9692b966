// A worker's partitions as one short text for its log lines (pipeline/workers/partition_list.hpp):
// the tests parse these lines to check ownership, so the format is pinned here.
#include "pipeline/workers/partition_list.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace kb::pipeline::workers {
namespace {

TEST(partition_list, runs_are_shortened_topics_sorted_duplicates_dropped) {
  const std::vector<topic_partition> tps = {{"orders", 7}, {"audit", 1}, {"orders", 0}, {"orders", 2},
                                            {"orders", 1}, {"orders", 3}, {"orders", 2}, {"orders", 9}};
  EXPECT_EQ(describe_partitions(tps), "audit[1] orders[0-3,7,9]");
}

TEST(partition_list, empty_is_none_and_one_is_itself) {
  EXPECT_EQ(describe_partitions({}), "none");
  const std::vector<topic_partition> one = {{"t", 5}};
  EXPECT_EQ(describe_partitions(one), "t[5]");
}

}  // namespace
}  // namespace kb::pipeline::workers
