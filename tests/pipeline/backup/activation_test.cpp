// Partition activation without a broker: how many pending partitions start, where they start and
// end, and resuming from checkpoints in a filesystem store (no ListOffsets needed then).
#include "pipeline/backup/activation.hpp"

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"
#include "tests/storage/forwarding_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;

partition_map pending(int n) {
  partition_map parts;
  for (int i = 0; i < n; ++i) parts[{"t", i}].tp = {"t", i};
  return parts;
}

partition_state& at(partition_map& parts, int p) { return parts[{"t", p}]; }

TEST(activation_rules, one_shot_and_snapshot_keep_to_the_concurrency_limit) {
  auto parts = pending(5);
  at(parts, 0).phase = part_phase::active;
  at(parts, 1).phase = part_phase::done;
  auto take = take_pending(parts, run_mode::one_shot, 3);
  ASSERT_EQ(take.size(), 2u);  // 3 allowed, 1 active
  EXPECT_EQ(take[0]->tp, (net::topic_partition{"t", 2}));
  EXPECT_EQ(take_pending(parts, run_mode::snapshot, 1).size(), 0u);
  EXPECT_EQ(take_pending(parts, run_mode::snapshot, 0).size(), 0u);  // 0 means 1
  EXPECT_EQ(take_pending(parts, run_mode::continuous, 1).size(), 3u);  // no limit
}

TEST(activation_rules, start_from_checkpoint_or_broker_or_zero) {
  partition_map parts = pending(3);
  auto& resumed = at(parts, 0);
  resumed.has_checkpoint = true;
  resumed.next_offset = 70;
  const offset_map starts{{{"t", 0}, 5}, {{"t", 1}, 40}};
  const offset_map ends{{{"t", 0}, 100}, {{"t", 1}, 90}};
  for (auto& [tp, ps] : parts) activate_at(ps, starts, ends, std::nullopt, run_mode::one_shot);
  EXPECT_EQ(at(parts, 0).next_offset, 70);  // the checkpoint wins
  EXPECT_EQ(at(parts, 1).next_offset, 40);
  EXPECT_EQ(at(parts, 1).checkpoint.next_offset, 40);
  EXPECT_EQ(at(parts, 2).next_offset, 0);  // no answer: from 0
  EXPECT_EQ(at(parts, 0).end_offset, 100);
  EXPECT_FALSE(at(parts, 2).end_offset);
  for (const auto& [tp, ps] : parts) EXPECT_EQ(ps.phase, part_phase::active);
}

TEST(activation_rules, snapshot_ends_come_from_the_start_and_new_partitions_are_empty) {
  partition_map parts = pending(2);
  const offset_map starts{{{"t", 0}, 3}, {{"t", 1}, 8}};
  const std::optional<offset_map> snapshot{offset_map{{{"t", 0}, 50}}};
  for (auto& [tp, ps] : parts) activate_at(ps, starts, {}, snapshot, run_mode::snapshot);
  EXPECT_EQ(at(parts, 0).end_offset, 50);
  EXPECT_EQ(at(parts, 1).end_offset, 8);  // born after the snapshot: nothing to back up
  partition_map cont = pending(1);
  activate_at(at(cont, 0), starts, {{{"t", 0}, 99}}, snapshot, run_mode::continuous);
  EXPECT_FALSE(at(cont, 0).end_offset);  // continuous: no end
}

using storage::testing::counting_store;

/// Activates `n` pending partitions of topic "t" (continuous mode) whose first `with_checkpoint`
/// have a checkpoint at 100 + p; `check` sees the partitions and the store's counts after.
void activate_from_store(int n, int with_checkpoint, run_mode mode,
                         const std::function<void(partition_map&, counting_store&, const std::vector<partition_state*>&)>& check) {
  const auto dir = fs::temp_directory_path() /
                   ("kb-activation-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  {
    storage::filesystem_store store(dir);
    counting_store counted(store);
    const sf::backup_paths paths{"b"};
    for (int p = 0; p < with_checkpoint; ++p) {
      sf::partition_checkpoint c;
      c.topic = "t";
      c.partition = p;
      c.next_offset = 100 + p;
      ASSERT_TRUE(store.put(paths.checkpoint("t", p), as_bytes(sf::to_json(c))));
    }
    options opts;
    opts.mode = mode;
    auto parts = pending(n);
    // An lvalue: async_activate keeps a reference to it across its suspensions.
    std::optional<offset_map> snapshot_ends{offset_map{}};
    for (int p = 0; p < n; ++p) (*snapshot_ends)[{"t", p}] = 1000;
    boost::asio::io_context io;
    auto cluster = net::cluster::create(io.get_executor(), net::cluster_options{});
    kafka_admin admin(*cluster, admin_retry{});
    partition_activator activator(counted, paths, opts, parts);
    std::optional<result<std::vector<partition_state*>>> out;
    boost::asio::co_spawn(io, activator.async_activate(admin, snapshot_ends),
                          [&](std::exception_ptr, result<std::vector<partition_state*>> r) { out = std::move(r); });
    io.run_for(std::chrono::seconds(10));
    ASSERT_TRUE(out);
    ASSERT_TRUE(*out) << (*out).error().message;
    check(parts, counted, **out);
  }
  fs::remove_all(dir);
}

// Resuming used to list each partition's folder (and, for a new backup, fail to read each checkpoint:
// 2,000 requests for 1,000 partitions on S3 before the first fetch). A new partition's side is in
// resume_test (a_listed_partition_without_a_checkpoint_reads_nothing); here activation needs no
// broker only when every partition has a checkpoint.
TEST(activation, many_partitions_of_a_topic_are_resumed_from_one_listing) {
  activate_from_store(40, 40, run_mode::continuous, [](partition_map& parts, counting_store& c, const auto&) {
    EXPECT_EQ(c.lists, 1);
    EXPECT_EQ(c.gets, 40);  // every checkpoint, each once
    for (int p = 0; p < 40; ++p) EXPECT_EQ(at(parts, p).next_offset, 100 + p);
  });
}

// A snapshot works on max_concurrent_partitions (8) at a time; the one listing serves the
// partitions taken later too, so the topic is not listed again for every eight.
TEST(activation, the_topic_listing_also_resumes_the_partitions_not_taken_yet) {
  activate_from_store(40, 40, run_mode::snapshot, [](partition_map& parts, counting_store& c, const auto&) {
    EXPECT_EQ(c.lists, 1);
    EXPECT_EQ(c.gets, 40);
    int active = 0;
    for (int p = 0; p < 40; ++p) {
      EXPECT_TRUE(at(parts, p).initialised);
      EXPECT_EQ(at(parts, p).next_offset, 100 + p);
      active += at(parts, p).phase == part_phase::active;
    }
    EXPECT_EQ(active, 8);
  });
}

TEST(activation, resumes_from_checkpoints_in_the_store) {
  // Two partitions: below the one-listing threshold, each folder is listed on its own.
  activate_from_store(2, 2, run_mode::continuous, [](partition_map& parts, counting_store& c, const auto& at_end) {
    EXPECT_TRUE(at_end.empty());  // continuous: nothing is at an end
    EXPECT_EQ(c.lists, 2);
    for (int p = 0; p < 2; ++p) {
      const auto& ps = at(parts, p);
      EXPECT_TRUE(ps.initialised);
      EXPECT_TRUE(ps.has_checkpoint);
      EXPECT_EQ(ps.next_offset, 100 + p);
      EXPECT_EQ(ps.phase, part_phase::active);
    }
  });
}

}  // namespace
}  // namespace kb::pipeline::backup
