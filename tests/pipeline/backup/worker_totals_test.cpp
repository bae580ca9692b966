// worker_totals against a filesystem store in a temp folder (no broker): the group's totals summed
// from the partitions' checkpoints, and the line the leader logs.
#include "pipeline/backup/worker_totals.hpp"

#include <unistd.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;

class worker_totals_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kb-worker-totals-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void checkpoint(std::int32_t p, std::int64_t next, std::uint64_t records, std::uint64_t bytes) {
    sf::partition_checkpoint c;
    c.topic = "t";
    c.partition = p;
    c.next_offset = next;
    c.records = records;
    c.bytes_raw = bytes;
    c.bytes_stored = bytes / 2;
    c.segments = 1;
    ASSERT_TRUE(store_->put(paths_.checkpoint("t", p), as_bytes(sf::to_json(c))));
  }
  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
  sf::backup_paths paths_{"b1"};
};

TEST_F(worker_totals_test, sums_the_checkpoints_and_counts_partitions_at_their_end) {
  checkpoint(0, 100, 100, 1000);  // at its end
  checkpoint(1, 40, 40, 400);     // 60 offsets behind
  // 2: no checkpoint, but empty (end == log start): nothing to back up, so done.
  // 3: no checkpoint, 30 offsets from the log start.
  // 4: end offset unknown (ListOffsets failed): neither done nor lagging.
  checkpoint(4, 10, 10, 100);
  const std::vector<group_partition> parts{
      {{"t", 0}, 100, 0}, {{"t", 1}, 100, 0}, {{"t", 2}, 7, 7}, {{"t", 3}, 50, 20}, {{"t", 4}, -1, -1}};
  auto t = sum_group_totals(*store_, paths_, parts);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->partitions, 5u);
  EXPECT_EQ(t->partitions_done, 2u);
  EXPECT_EQ(t->checkpoints, 3u);
  EXPECT_EQ(t->records, 150u);
  EXPECT_EQ(t->bytes_raw, 1500u);
  EXPECT_EQ(t->bytes_stored, 750u);
  EXPECT_EQ(t->segments, 3u);
  EXPECT_EQ(t->lag, 90);
  EXPECT_EQ(group_totals_line("grp", 4, "m-1", *t),
            "backup group grp (generation 4, leader m-1): 2/5 partitions at their end offsets, 3 with a checkpoint, "
            "150 records, 1500 bytes raw, 750 bytes stored, 3 segments, lag 90 offsets");
}

TEST_F(worker_totals_test, an_unreadable_checkpoint_counts_as_nothing_stored) {
  ASSERT_TRUE(store_->put(paths_.checkpoint("t", 0), as_bytes("{broken")));
  auto t = sum_group_totals(*store_, paths_, {{{"t", 0}, 10, 0}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->checkpoints, 0u);
  EXPECT_EQ(t->partitions_done, 0u);
  EXPECT_EQ(t->lag, 10);
}

}  // namespace
}  // namespace kb::pipeline::backup
