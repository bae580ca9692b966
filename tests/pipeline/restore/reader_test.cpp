// Restore's read side (pipeline/restore/reader.hpp), no broker: routing batches over target
// partitions when a topic is repartitioned, and the batch size limit of a target topic.
#include <gtest/gtest.h>

#include "pipeline/restore/reader.hpp"
#include "protocol/records/record_batch.hpp"

namespace kb::pipeline::restore {
namespace {

// One batch of records keyed "k0".."k{n-1}" (null keys when `keyed` is false), sources from `first`.
output_batch keyed_batch(std::int64_t first, std::int32_t n, bool keyed = true, std::size_t value_size = 8) {
  protocol::record_batch_builder b;
  const std::string value(value_size, 'v');
  for (std::int32_t i = 0; i < n; ++i) {
    const std::string key = "k" + std::to_string(i);
    if (keyed) b.add(1'700'000'000'000 + i, as_bytes(key), as_bytes(value));
    else b.add(1'700'000'000'000 + i, std::nullopt, as_bytes(value));
  }
  auto built = b.build().value();
  output_batch ob;
  ob.size = built.size();
  ob.storage = std::make_shared<byte_vector>(std::move(built));
  ob.record_count = n;
  ob.sources = {{first, n}};
  return ob;
}

protocol::record_set records_of(const output_batch& ob) {
  return protocol::read_records(shared_bytes(byte_vector(ob.bytes().begin(), ob.bytes().end()))).value();
}

TEST(reader_route, murmur2_sends_each_key_where_the_java_client_would) {
  murmur2_partitioner router(4, true);
  auto routed = route_batches({keyed_batch(100, 20)}, router, 1 << 20);
  ASSERT_TRUE(routed) << routed.error().message;
  std::int32_t total = 0;
  for (const auto& [part, batches] : *routed) {
    for (const auto& ob : batches) {
      EXPECT_TRUE(ob.reencoded);
      EXPECT_EQ(ob.sources.front().first, 100) << "offsets are not mapped: the source batch's first offset";
      total += ob.record_count;
      for (const auto& r : records_of(ob)) {
        ASSERT_TRUE(r.key);
        EXPECT_EQ(part, partition_for_key(*r.key, 4));
      }
    }
  }
  EXPECT_EQ(total, 20);
}

TEST(reader_route, round_robin_spreads_records_one_by_one) {
  murmur2_partitioner router(3, false);
  auto routed = route_batches({keyed_batch(0, 9)}, router, 1 << 20);
  ASSERT_TRUE(routed);
  ASSERT_EQ(routed->size(), 3u);
  for (const auto& [part, batches] : *routed) {
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].record_count, 3) << "partition " << part;
  }
}

TEST(reader_route, a_partition_batch_is_cut_at_half_the_size_limit) {
  murmur2_partitioner router(1, false);
  auto routed = route_batches({keyed_batch(0, 40, false, 100)}, router, 1000);
  ASSERT_TRUE(routed);
  const auto& batches = (*routed)[0];
  EXPECT_GT(batches.size(), 4u);
  std::int32_t total = 0;
  for (const auto& ob : batches) {
    total += ob.record_count;
    EXPECT_LE(ob.size, 1000u);
  }
  EXPECT_EQ(total, 40);
}

TEST(reader_route, damaged_batch_bytes_are_an_integrity_error) {
  auto ob = keyed_batch(0, 3);
  ob.size = 30;  // cut inside the header
  murmur2_partitioner router(2, true);
  auto routed = route_batches({ob}, router, 1 << 20);
  ASSERT_FALSE(routed);
}

TEST(reader_max_batch, a_created_topic_takes_the_backed_up_limit_an_existing_one_the_default) {
  restore_plan plan;
  planned_topic t;
  t.source = "s";
  t.target = "t";
  t.manifest.configs["max.message.bytes"] = "2000000";
  plan.topics.push_back(t);
  planned_topic bad = t;
  bad.source = "s2";
  bad.target = "t2";
  bad.manifest.configs["max.message.bytes"] = "lots";
  plan.topics.push_back(bad);
  EXPECT_EQ(max_batch_bytes(plan, {}, "t"), 2000000u);
  EXPECT_EQ(max_batch_bytes(plan, {"t"}, "t"), 1048588u) << "an existing topic keeps its own setting";
  EXPECT_EQ(max_batch_bytes(plan, {}, "t2"), 1048588u) << "an unreadable value falls back to the default";
  EXPECT_EQ(max_batch_bytes(plan, {}, "other"), 1048588u);
}

}  // namespace
}  // namespace kb::pipeline::restore
