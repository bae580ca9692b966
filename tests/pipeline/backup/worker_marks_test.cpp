// worker_marks against a filesystem store in a temp folder (no broker): the JSON of the owner
// records and workers.json, and the two refusals that keep workers and a single process apart.
#include "pipeline/backup/worker_marks.hpp"

#include <unistd.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;

class worker_marks_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kb-worker-marks-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
  sf::backup_paths paths_{"b1"};
};

TEST_F(worker_marks_test, owner_records_round_trip_and_are_listed) {
  const partition_owner o{"g", "member-1", 7, 1234};
  ASSERT_TRUE(store_->put(owner_key(paths_, {"orders", 12}), as_bytes(to_json(o))));
  ASSERT_TRUE(store_->put(owner_key(paths_, {"a.b-c", 0}), as_bytes(to_json(partition_owner{"g", "m2", 8, 5}))));
  ASSERT_TRUE(store_->put(paths_.root() + "owners/orders/junk.txt", as_bytes("x")));
  EXPECT_EQ(owner_key(paths_, {"orders", 12}), "b1/owners/orders/12.json");
  auto all = read_owners(*store_, paths_);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, (net::topic_partition{"a.b-c", 0}));
  EXPECT_EQ((*all)[0].second.generation, 8);
  EXPECT_EQ((*all)[1].first, (net::topic_partition{"orders", 12}));
  EXPECT_EQ((*all)[1].second.member_id, "member-1");
  EXPECT_EQ((*all)[1].second.assigned_ms, 1234);
}

TEST_F(worker_marks_test, each_term_records_the_offsets_its_worker_committed_and_earlier_terms_are_kept) {
  const net::topic_partition tp{"orders", 3};
  auto checkpoint_at = [&](std::int64_t next) {
    sf::partition_checkpoint c;
    c.topic = tp.topic;
    c.partition = tp.partition;
    c.next_offset = next;
    ASSERT_TRUE(store_->put(paths_.checkpoint(tp.topic, tp.partition), as_bytes(sf::to_json(c))));
  };
  // Generation 1: no checkpoint yet; the worker commits up to 100.
  ASSERT_TRUE(record_owner_start(*store_, paths_, tp, partition_owner{"g", "m1", 1, 10, "pod-a"}));
  checkpoint_at(100);
  ASSERT_TRUE(record_owner_end(*store_, paths_, tp, "m1", 1, 20));
  // Generation 2 on another worker, from the checkpoint; it loses its session (no end recorded).
  ASSERT_TRUE(record_owner_start(*store_, paths_, tp, partition_owner{"g", "m2", 2, 30}));
  checkpoint_at(250);
  // Generation 3: m1 again. The zombie of generation 2 then ends late: it must not touch the record.
  ASSERT_TRUE(record_owner_start(*store_, paths_, tp, partition_owner{"g", "m1", 3, 40, "pod-a"}));
  ASSERT_TRUE(record_owner_end(*store_, paths_, tp, "m2", 2, 50));
  checkpoint_at(400);
  ASSERT_TRUE(record_owner_end(*store_, paths_, tp, "m1", 3, 60));

  auto all = read_owners(*store_, paths_);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  const auto terms = (*all)[0].second.terms();
  ASSERT_EQ(terms.size(), 3u);
  EXPECT_EQ(terms[0], (owner_term{"m1", "pod-a", 1, 10, -1, 100, 20}));
  EXPECT_EQ(terms[1], (owner_term{"m2", "", 2, 30, 100, -1, 0}));
  EXPECT_EQ(terms[2], (owner_term{"m1", "pod-a", 3, 40, 250, 400, 60}));
  EXPECT_EQ((*all)[0].second.group_id, "g");
}

TEST_F(worker_marks_test, the_history_is_bounded_and_a_first_version_record_still_reads) {
  const net::topic_partition tp{"t", 0};
  // The first version wrote only these four fields.
  ASSERT_TRUE(store_->put(owner_key(paths_, tp),
                          as_bytes(R"({"group_id":"g","member_id":"old","generation":1,"assigned_ms":5})")));
  for (std::int32_t g = 2; g < 2 + static_cast<std::int32_t>(owner_history_max) + 5; ++g)
    ASSERT_TRUE(record_owner_start(*store_, paths_, tp, partition_owner{"g", "m", g, g}));
  auto all = read_owners(*store_, paths_);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  const auto& rec = (*all)[0].second;
  EXPECT_EQ(rec.history.size(), owner_history_max);
  EXPECT_EQ(rec.history.back().generation, rec.generation - 1);
  auto first = parse_partition_owner(R"({"group_id":"g","member_id":"old","generation":1,"assigned_ms":5})");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->current(), (owner_term{"old", "", 1, 5, -1, -1, 0}));
  EXPECT_FALSE(parse_partition_owner(R"({"group_id":"g","member_id":"m","generation":1,"assigned_ms":5,"history":[7]})"));
}

TEST_F(worker_marks_test, damaged_json_is_corrupt_naming_the_field) {
  auto r = parse_workers_marker(R"({"group_id":"g","member_id":"m","generation":1,"updated_ms":2})");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::corrupt));
  EXPECT_NE(r.error().message.find("expires_ms"), std::string::npos) << r.error().message;
  EXPECT_FALSE(parse_partition_owner("[1,2]"));
}

/// A generation beyond int32 used to wrap silently (4294967297 read as 1): refused now, naming it.
TEST_F(worker_marks_test, out_of_range_numbers_are_corrupt_not_wrapped) {
  auto marker = parse_workers_marker(
      R"({"group_id":"g","member_id":"m","generation":4294967297,"updated_ms":2,"expires_ms":3})");
  ASSERT_FALSE(marker) << "generation read as " << marker->generation;
  EXPECT_TRUE(marker.error().is(errc::corrupt));
  EXPECT_NE(marker.error().message.find("workers.json: field 'generation' is out of range"), std::string::npos)
      << marker.error().message;
  auto owner = parse_partition_owner(R"({"group_id":"g","member_id":"m","generation":1,"assigned_ms":5,
      "history":[{"member_id":"old","generation":-4294967295,"assigned_ms":1}]})");
  ASSERT_FALSE(owner) << "history generation read as " << owner->history.at(0).generation;
  EXPECT_NE(owner.error().message.find("owner record: field 'history[0].generation' is out of range"),
            std::string::npos)
      << owner.error().message;
}

TEST_F(worker_marks_test, a_single_process_is_refused_while_workers_json_is_unexpired) {
  EXPECT_TRUE(refuse_if_workers_run(*store_, paths_, 1'000));  // none yet
  ASSERT_TRUE(store_->put(workers_marker_key(paths_), as_bytes(to_json(workers_marker{"grp", "m", 3, 1'000, 61'000}))));
  auto r = refuse_if_workers_run(*store_, paths_, 31'000);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::conflict));
  EXPECT_NE(r.error().message.find("workers of group 'grp'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("30 s ago"), std::string::npos) << r.error().message;
  EXPECT_TRUE(refuse_if_workers_run(*store_, paths_, 61'000));  // expired: the workers are gone
}

TEST_F(worker_marks_test, a_worker_is_refused_while_a_live_lease_is_held) {
  EXPECT_TRUE(refuse_if_lease_held(*store_, paths_, 1'000));
  ASSERT_TRUE(store_->put(paths_.lock(), as_bytes(sf::to_json(sf::lease{"otherhost:1:abc", 1, 60'000}))));
  auto r = refuse_if_lease_held(*store_, paths_, 30'000);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::conflict));
  EXPECT_NE(r.error().message.find("single-process backup"), std::string::npos) << r.error().message;
  EXPECT_TRUE(refuse_if_lease_held(*store_, paths_, 60'000));  // expired
}

}  // namespace
}  // namespace kb::pipeline::backup
