// The per-partition restore state of workers (pipeline/restore/shared_state.hpp): one object per
// source partition, written only when it moved, read back exactly; the plans workers refuse; the
// plan restricted to a worker's partitions; "every partition done".
#include "pipeline/restore/shared_state.hpp"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "pipeline/restore/plan.hpp"
#include "storage/filesystem_store.hpp"

namespace kb::pipeline::restore {
namespace {

namespace fs = std::filesystem;

class shared_state_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kb-shared-state-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

partition_state part(const std::string& topic, std::int32_t p, std::int64_t next, bool done) {
  partition_state s;
  s.source_topic = topic;
  s.source_partition = p;
  s.target_topic = topic + "-r";
  s.target_partition = p;
  s.next_source_offset = next;
  s.target_end = next;
  s.records = static_cast<std::uint64_t>(next);
  s.done = done;
  if (next > 0) {
    EXPECT_TRUE(s.map.add(0, 0, next));
  }
  return s;
}

planned_partition planned(const std::string& src, std::int32_t sp, const std::string& dst, std::int32_t tp) {
  planned_partition p;
  p.source_topic = src;
  p.source_partition = sp;
  p.target_topic = dst;
  p.target_partition = tp;
  return p;
}

TEST_F(shared_state_test, each_partition_is_its_own_object_and_reads_back_exactly) {
  storage::filesystem_store store(dir_ / "store");
  shared_state writer(store, "b1", "r-1");
  ASSERT_TRUE(writer.check_writable());
  EXPECT_TRUE(fs::exists(dir_ / "store" / "b1" / "restores" / "r-1" / "workers-probe"));
  auto none = writer.load({{"orders", 0}});
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->has_value());

  restore_state st;
  st.partitions = {part("orders", 0, 40, true), part("orders", 1, 7, false)};
  ASSERT_TRUE(writer.save(st));
  EXPECT_EQ(shared_state_key("b1", "r-1", {"orders", 1}), "b1/restores/r-1/partitions/orders/1.json");
  EXPECT_TRUE(fs::exists(dir_ / "store" / "b1" / "restores" / "r-1" / "partitions" / "orders" / "0.json"));

  // Another worker reads what this one wrote, partition by partition.
  shared_state reader(store, "b1", "r-1");
  auto got = reader.load({{"orders", 1}, {"orders", 0}, {"orders", 2}});
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  ASSERT_EQ((*got)->partitions.size(), 2u);
  EXPECT_EQ((*got)->partitions[0].source_partition, 1);
  EXPECT_EQ((*got)->partitions[0].next_source_offset, 7);
  EXPECT_FALSE((*got)->partitions[0].done);
  EXPECT_EQ((*got)->partitions[1].map.ranges(), st.partitions[0].map.ranges());
  EXPECT_FALSE(every_partition_done(**got, {{"orders", 0}, {"orders", 1}}));
  EXPECT_TRUE(every_partition_done(**got, {{"orders", 0}}));
  EXPECT_FALSE(every_partition_done(**got, {{"orders", 0}, {"orders", 2}}));  // absent: not done
}

TEST_F(shared_state_test, a_save_rewrites_only_the_partitions_that_moved) {
  storage::filesystem_store store(dir_ / "store");
  shared_state s(store, "b1", "r-1");
  restore_state st;
  st.partitions = {part("t", 0, 5, false), part("t", 1, 5, false)};
  ASSERT_TRUE(s.save(st));
  const auto p0 = dir_ / "store" / "b1" / "restores" / "r-1" / "partitions" / "t" / "0.json";
  fs::remove(p0);  // a rewrite of partition 0 would bring it back
  st.partitions[1] = part("t", 1, 9, false);
  ASSERT_TRUE(s.save(st));
  EXPECT_FALSE(fs::exists(p0));
  st.partitions[0] = part("t", 0, 6, false);
  ASSERT_TRUE(s.save(st));
  EXPECT_TRUE(fs::exists(p0));
}

TEST_F(shared_state_test, a_worker_that_lost_a_partition_never_moves_its_state_back) {
  storage::filesystem_store store(dir_ / "store");
  shared_state zombie(store, "b1", "r-1");
  shared_state owner(store, "b1", "r-1");
  auto old = part("t", 0, 10, false);
  old.target_topic_id = "aa";
  restore_state z;
  z.partitions = {old};
  ASSERT_TRUE(zombie.save(z));
  auto further = part("t", 0, 50, true);
  further.target_topic_id = "aa";
  restore_state o;
  o.partitions = {further};
  ASSERT_TRUE(owner.save(o));
  // The zombie runs again and checkpoints what it had: the owner's state stays.
  z.partitions[0] = part("t", 0, 12, false);
  z.partitions[0].target_topic_id = "aa";
  ASSERT_TRUE(zombie.save(z));
  auto got = shared_state(store, "b1", "r-1").load({{"t", 0}});
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->partitions[0].target_end, 50);
  EXPECT_TRUE((*got)->partitions[0].done);
  // A re-created target (another topic id) starts over: that state is written.
  z.partitions[0] = part("t", 0, 0, false);
  z.partitions[0].target_topic_id = "bb";
  ASSERT_TRUE(zombie.save(z));
  got = shared_state(store, "b1", "r-1").load({{"t", 0}});
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->partitions[0].target_topic_id, "bb");
}

TEST_F(shared_state_test, an_unreadable_partition_state_is_corrupt_and_named) {
  storage::filesystem_store store(dir_ / "store");
  ASSERT_TRUE(store.put("b1/restores/r-1/partitions/t/3.json", as_bytes("{not json")));
  shared_state s(store, "b1", "r-1");
  auto got = s.load({{"t", 3}});
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(errc::corrupt));
  EXPECT_NE(got.error().message.find("b1/restores/r-1/partitions/t/3.json"), std::string::npos) << got.error().message;
  // A state that holds another partition is not taken either.
  restore_state other;
  other.partitions = {part("t", 4, 1, false)};
  ASSERT_TRUE(store.put("b1/restores/r-1/partitions/t/3.json", as_bytes(to_json(other))));
  auto wrong = s.load({{"t", 3}});
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().is(errc::corrupt));
}

TEST(shared_state_plan, workers_refuse_repartitioning_and_shared_target_partitions) {
  restore_plan plan;
  plan.partitions = {planned("a", 0, "x", 0), planned("a", 1, "x", 1)};
  EXPECT_TRUE(check_plan_for_workers(plan));
  plan.partitions.push_back(planned("b", 0, "x", 1));
  auto shared = check_plan_for_workers(plan);
  ASSERT_FALSE(shared);
  EXPECT_TRUE(shared.error().is(errc::config));
  EXPECT_NE(shared.error().message.find("a[1] and b[0] are both restored into x[1]"), std::string::npos)
      << shared.error().message;
  plan.partitions = {planned("a", 0, "x", -1)};
  auto rep = check_plan_for_workers(plan);
  ASSERT_FALSE(rep);
  EXPECT_TRUE(rep.error().is(errc::config));
  EXPECT_NE(rep.error().message.find("restore.repartitioning of 'a'"), std::string::npos) << rep.error().message;
}

TEST(shared_state_plan, restrict_plan_keeps_the_workers_partitions_and_returns_all) {
  restore_plan plan;
  plan.partitions = {planned("a", 0, "x", 0), planned("a", 1, "x", 1), planned("b", 0, "y", 0)};
  worker_subset mine;
  mine.partitions = {{"a", 1}, {"b", 0}, {"c", 9}};
  const auto all = restrict_plan(plan, mine);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], (source_key{"a", 0}));
  ASSERT_EQ(plan.partitions.size(), 2u);
  EXPECT_EQ(plan.partitions[0].source_partition, 1);
  EXPECT_EQ(plan.partitions[1].source_topic, "b");
}

}  // namespace
}  // namespace kb::pipeline::restore
