// The backup set's own description without a broker: backup.json merged across runs (creation
// time kept, another source cluster refused, topics no longer selected marked) on a filesystem store.
#include "pipeline/backup/catalog.hpp"

#include <unistd.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;

TEST(catalog_rules, merge_keeps_creation_time_and_earlier_topics) {
  sf::backup_manifest fresh;
  fresh.backup_id = "b";
  fresh.created_ms = 2000;
  fresh.source_cluster_id = "c1";
  sf::backup_manifest stored;
  stored.created_ms = 1000;
  stored.source_cluster_id = "c1";
  stored.topics = {"old", "kept"};
  std::set<std::string> earlier;
  auto m = merge_manifest(fresh, stored, earlier);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->created_ms, 1000);
  EXPECT_EQ(earlier, (std::set<std::string>{"old", "kept"}));
}

TEST(catalog_rules, another_source_cluster_is_a_conflict_naming_both) {
  sf::backup_manifest fresh;
  fresh.backup_id = "b";
  fresh.source_cluster_id = "new-cluster";
  sf::backup_manifest stored;
  stored.source_cluster_id = "old-cluster";
  std::set<std::string> earlier;
  auto m = merge_manifest(fresh, stored, earlier);
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().is(errc::conflict));
  EXPECT_NE(m.error().message.find("old-cluster"), std::string::npos);
  EXPECT_NE(m.error().message.find("new-cluster"), std::string::npos);
  EXPECT_NE(m.error().message.find("new backup_id"), std::string::npos);
  // An unknown id on either side is no conflict.
  stored.source_cluster_id.clear();
  EXPECT_TRUE(merge_manifest(fresh, stored, earlier));
}

TEST(catalog_rules, topics_no_longer_selected_stay_listed_as_not_followed) {
  sf::backup_manifest m;
  m.not_followed = {"stale"};
  list_topics(m, {"a", "gone"}, {"a", "b"});
  EXPECT_EQ(m.topics, (std::vector<std::string>{"a", "b", "gone"}));
  EXPECT_EQ(m.not_followed, (std::vector<std::string>{"gone"}));
  EXPECT_EQ(codec_name(sf::frame_codec::zstd), "zstd");
  EXPECT_EQ(codec_name(sf::frame_codec::lz4), "lz4");
  EXPECT_EQ(codec_name(sf::frame_codec::none), "none");
}

class catalog_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kb-catalog-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
    opts_.backup_id = "b";
    opts_.tool_version = "9.9";
    opts_.codec = sf::frame_codec::lz4;
    opts_.cluster.bootstrap_servers = {"127.0.0.1:9092"};
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  /// backup.json as an earlier run left it.
  static sf::backup_manifest earlier_run(std::string cluster_id) {
    sf::backup_manifest m;
    m.backup_id = "b";
    m.compression = "zstd";
    m.mode = "continuous";
    m.created_ms = 1000;
    m.source_cluster_id = std::move(cluster_id);
    return m;
  }
  sf::backup_manifest stored() {
    auto text = store_->get(paths_.backup_manifest());
    EXPECT_TRUE(text);
    auto m = sf::parse_backup_manifest(as_text(*text));
    EXPECT_TRUE(m);
    return *m;
  }
  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
  sf::backup_paths paths_{"b"};
  options opts_;
};

TEST_F(catalog_test, a_new_set_gets_a_manifest_of_this_run) {
  catalog c(*store_, paths_, opts_, "");
  ASSERT_TRUE(c.open(std::string("cid"), 5000));
  const auto m = stored();
  EXPECT_EQ(m.backup_id, "b");
  EXPECT_EQ(m.tool_version, "9.9");
  EXPECT_EQ(m.compression, "lz4");
  EXPECT_EQ(m.mode, "one-shot");
  EXPECT_EQ(m.source_cluster_id, "cid");
  EXPECT_EQ(m.created_ms, 5000);
  EXPECT_EQ(m.updated_ms, 5000);
  EXPECT_EQ(m.bootstrap_servers, std::vector<std::string>{"127.0.0.1:9092"});
}

TEST_F(catalog_test, a_later_run_keeps_the_creation_time_and_marks_dropped_topics) {
  auto earlier = earlier_run("cid");
  earlier.topics = {"orders", "payments"};
  ASSERT_TRUE(store_->put(paths_.backup_manifest(), as_bytes(sf::to_json(earlier))));
  catalog c(*store_, paths_, opts_, "");
  ASSERT_TRUE(c.open(std::string("cid"), 7000));
  const auto m = stored();
  EXPECT_EQ(m.created_ms, 1000);
  EXPECT_EQ(m.updated_ms, 7000);
  EXPECT_EQ(m.topics, (std::vector<std::string>{"orders", "payments"}));
  EXPECT_EQ(m.not_followed, (std::vector<std::string>{"orders", "payments"}));  // nothing selected in this test
}

TEST_F(catalog_test, the_configured_source_cluster_id_wins_and_a_mismatch_is_refused) {
  const auto earlier = earlier_run("first");
  ASSERT_TRUE(store_->put(paths_.backup_manifest(), as_bytes(sf::to_json(earlier))));
  opts_.source_cluster_id = "second";
  catalog c(*store_, paths_, opts_, "");
  auto r = c.open(std::string("first"), 1);  // the broker says "first", the config overrides it
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::conflict));
  EXPECT_EQ(stored().source_cluster_id, "first");  // not overwritten
}

TEST_F(catalog_test, a_group_snapshot_is_stored_and_unread_groups_named_in_backup_json) {
  catalog c(*store_, paths_, opts_, "");
  ASSERT_TRUE(c.open(std::nullopt, 1));
  group_capture cap;
  cap.snapshot.captured_ms = 4242;
  cap.snapshot.groups["g1"] = {{"t", 0, 17, -1, ""}};
  cap.not_captured = {{"secret-group", "GROUP_AUTHORIZATION_FAILED"}};
  ASSERT_TRUE(c.save_groups(cap, 2));
  auto text = store_->get(paths_.group_snapshot(4242));
  ASSERT_TRUE(text);
  auto snap = sf::parse_group_snapshot(as_text(*text));
  ASSERT_TRUE(snap);
  EXPECT_EQ(*snap, cap.snapshot);
  ASSERT_EQ(stored().groups_not_captured.size(), 1u);
  EXPECT_EQ(stored().groups_not_captured[0].group, "secret-group");
  // All groups read the next time: the field goes.
  cap.not_captured.clear();
  cap.snapshot.captured_ms = 4343;
  ASSERT_TRUE(c.save_groups(cap, 3));
  EXPECT_TRUE(stored().groups_not_captured.empty());
}

}  // namespace
}  // namespace kb::pipeline::backup
