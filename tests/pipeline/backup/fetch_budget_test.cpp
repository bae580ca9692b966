// Unit tests of the fetch size and the smallest memory budget a backup can run in.
#include "pipeline/backup/fetch_budget.hpp"

#include <gtest/gtest.h>

namespace kb::pipeline::backup {
namespace {

TEST(fetch_budget, effective_fetch_size_defaults_to_the_segment_size_capped_at_16_mib) {
  EXPECT_EQ(effective_fetch_max_bytes(std::nullopt, 128ull << 20), 16u << 20);
  EXPECT_EQ(effective_fetch_max_bytes(std::nullopt, 4u << 20), 4u << 20);
  EXPECT_EQ(effective_fetch_max_bytes(2u << 20, 128ull << 20), 2u << 20);
  EXPECT_EQ(effective_fetch_max_bytes(1000, 128ull << 20), min_fetch_bytes);
  EXPECT_EQ(effective_fetch_max_bytes(std::nullopt, 10), min_fetch_bytes);
}

TEST(fetch_budget, the_minimum_budget_is_one_fetch_of_at_most_1_mib) {
  EXPECT_EQ(min_buffer_bytes(16u << 20), 1u << 20);
  EXPECT_EQ(min_buffer_bytes(1u << 20), 1u << 20);
  EXPECT_EQ(min_buffer_bytes(256u << 10), 256u << 10);
  EXPECT_EQ(min_buffer_bytes(min_fetch_bytes), min_fetch_bytes);
}

}  // namespace
}  // namespace kb::pipeline::backup
