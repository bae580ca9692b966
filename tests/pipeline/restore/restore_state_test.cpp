// Restore state: where it goes (configured file/dir, the store, a local fallback when the store
// cannot be written), strict loading (empty or garbage is an error naming the file), target
// identity checks (deleted or re-created topic -> start over; lost records -> refuse).
#include "pipeline/restore/restore_state.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "storage/filesystem_store.hpp"
#include "storage/local_file.hpp"

namespace kb::pipeline::restore {
namespace {

namespace fs = std::filesystem;

class restore_state_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kb-restore-state-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  state_choice choice() const {
    state_choice c;
    c.backup_id = "b1";
    c.restore_id = "r-1";
    c.fallback_dir = dir_ / "fallback";
    return c;
  }
  fs::path dir_;
};

restore_state sample() {
  restore_state s;
  s.restore_id = "r-1";
  s.backup_id = "b1";
  partition_state p;
  p.source_topic = "src";
  p.target_topic = "dst";
  p.target_partition = 0;
  p.next_source_offset = 100;
  p.target_end = 100;
  p.records = 100;
  p.done = true;
  p.target_topic_id = "00112233445566778899aabbccddeeff";
  EXPECT_TRUE(p.map.add(0, 0, 100));
  s.partitions.push_back(p);
  return s;
}

TEST(restore_state_paths, default_local_dir_prefers_xdg_state_home_then_home) {
  EXPECT_EQ(default_local_state_dir("/x/state", "/home/u"), fs::path("/x/state/kafka-backup"));
  EXPECT_EQ(default_local_state_dir(nullptr, "/home/u"), fs::path("/home/u/.local/state/kafka-backup"));
  EXPECT_EQ(default_local_state_dir("relative", "/home/u"), fs::path("/home/u/.local/state/kafka-backup"));
  EXPECT_EQ(local_state_file("/d", "b1", "r-1"), fs::path("/d/b1/r-1.json"));
}

TEST(restore_state_paths, topic_id_hex) {
  protocol::uuid id;
  EXPECT_EQ(topic_id_hex(id), "");
  id.bytes[15] = 0xab;
  EXPECT_EQ(topic_id_hex(id), "000000000000000000000000000000ab");
}

TEST_F(restore_state_test, writable_store_keeps_the_state_and_leaves_no_probe) {
  storage::filesystem_store store(dir_ / "store");
  auto at = choose_state_location(store, choice());
  ASSERT_TRUE(at) << at.error().message;
  EXPECT_FALSE(at->file);
  EXPECT_EQ(at->key, "b1/restores/r-1/state.json");
  ASSERT_TRUE(save_restore_state(store, *at, sample()));
  auto back = load_restore_state(store, *at);
  ASSERT_TRUE(back && *back) << (back ? "" : back.error().message);
  EXPECT_EQ((*back)->partitions.at(0).target_topic_id, "00112233445566778899aabbccddeeff");
  EXPECT_FALSE(fs::exists(dir_ / "store" / "b1" / "restores" / "r-1" / "write-probe"));
}

TEST_F(restore_state_test, unwritable_store_falls_back_to_the_local_directory) {
  // The store's root lies under a regular file: nothing can be created there (as root too).
  std::ofstream(dir_ / "plainfile") << "x";
  storage::filesystem_store store(dir_ / "plainfile" / "store");
  auto at = choose_state_location(store, choice());
  ASSERT_TRUE(at) << at.error().message;
  ASSERT_TRUE(at->file);
  EXPECT_EQ(*at->file, dir_ / "fallback" / "b1" / "r-1.json");
  ASSERT_TRUE(save_restore_state(store, *at, sample()));
  EXPECT_TRUE(fs::is_regular_file(*at->file));
}

TEST_F(restore_state_test, local_fallback_starts_from_the_state_an_earlier_run_left_in_the_store) {
  storage::filesystem_store store(dir_ / "store");
  auto in_store = choose_state_location(store, choice());
  ASSERT_TRUE(in_store) << in_store.error().message;
  ASSERT_TRUE(save_restore_state(store, *in_store, sample()));
  state_location fallback;
  fallback.file = dir_ / "fallback" / "b1" / "r-1.json";
  fallback.where = fallback.file->string();
  fallback.seed_key = in_store->key;
  auto got = load_restore_state(store, fallback);
  ASSERT_TRUE(got && *got) << (got ? "none" : got.error().message);
  EXPECT_TRUE((*got)->partitions.at(0).done);
  // Once the local file exists it wins.
  auto newer = sample();
  newer.partitions[0].records = 7;
  ASSERT_TRUE(save_restore_state(store, fallback, newer));
  got = load_restore_state(store, fallback);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->partitions.at(0).records, 7u);
}

TEST_F(restore_state_test, state_dir_is_used_without_touching_the_store) {
  storage::filesystem_store store(dir_ / "store");
  auto c = choice();
  c.state_dir = (dir_ / "mine").string();
  auto at = choose_state_location(store, c);
  ASSERT_TRUE(at) << at.error().message;
  ASSERT_TRUE(at->file);
  EXPECT_EQ(*at->file, dir_ / "mine" / "b1" / "r-1.json");
  EXPECT_FALSE(fs::exists(dir_ / "store"));
}

TEST_F(restore_state_test, unwritable_state_dir_is_an_error_naming_it) {
  std::ofstream(dir_ / "plainfile") << "x";
  storage::filesystem_store store(dir_ / "store");
  auto c = choice();
  c.state_dir = (dir_ / "plainfile" / "sub").string();
  auto at = choose_state_location(store, c);
  ASSERT_FALSE(at);
  EXPECT_NE(at.error().message.find("restore.state_dir"), std::string::npos) << at.error().message;
  EXPECT_NE(at.error().message.find("plainfile"), std::string::npos) << at.error().message;
}

TEST_F(restore_state_test, missing_state_is_a_fresh_start_but_empty_or_garbage_is_an_error_naming_the_file) {
  storage::filesystem_store store(dir_ / "store");
  auto c = choice();
  c.checkpoint_state = (dir_ / "ckpt.json").string();
  auto at = choose_state_location(store, c);
  ASSERT_TRUE(at) << at.error().message;
  auto none = load_restore_state(store, *at);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  for (const std::string bad : {"", "\n", "{\"restore_id\": 1", "not json"}) {
    std::ofstream(dir_ / "ckpt.json", std::ios::trunc) << bad;
    auto got = load_restore_state(store, *at);
    ASSERT_FALSE(got) << "'" << bad << "' was accepted";
    EXPECT_TRUE(got.error().is(errc::corrupt));
    EXPECT_NE(got.error().message.find((dir_ / "ckpt.json").string()), std::string::npos) << got.error().message;
  }
}

TEST_F(restore_state_test, offset_report_is_written_whole) {
  const fs::path report = dir_ / "out" / "report.json";
  ASSERT_TRUE(write_offset_report(report, sample()));
  auto text = storage::read_file(report);
  ASSERT_TRUE(text);
  auto parsed = parse_restore_state(as_text(*text));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->partitions.at(0).records, 100u);
}

TEST(restore_state_identity, deleted_or_recreated_target_starts_over_same_target_is_kept) {
  const auto id = std::string("00112233445566778899aabbccddeeff");
  {
    auto s = sample();
    auto why = reset_stale_targets(s, {{"dst", {true, id}}});
    EXPECT_TRUE(why.empty());
    EXPECT_TRUE(s.partitions[0].done);
  }
  {
    auto s = sample();
    auto why = reset_stale_targets(s, {{"dst", {false, ""}}});
    ASSERT_EQ(why.size(), 1u);
    EXPECT_NE(why[0].find("no longer exists"), std::string::npos) << why[0];
    const auto& p = s.partitions[0];
    EXPECT_FALSE(p.done);
    EXPECT_EQ(p.target_end, -1);
    EXPECT_EQ(p.next_source_offset, 0);
    EXPECT_TRUE(p.map.empty());
    EXPECT_EQ(p.target_topic, "dst");
  }
  {
    auto s = sample();
    auto why = reset_stale_targets(s, {{"dst", {true, "ffeeddccbbaa99887766554433221100"}}});
    ASSERT_EQ(why.size(), 1u);
    EXPECT_NE(why[0].find("re-created"), std::string::npos) << why[0];
    EXPECT_FALSE(s.partitions[0].done);
  }
  {
    // A state from before topic ids were recorded: an existing topic cannot be told apart.
    auto s = sample();
    s.partitions[0].target_topic_id.clear();
    EXPECT_TRUE(reset_stale_targets(s, {{"dst", {true, id}}}).empty());
    EXPECT_TRUE(s.partitions[0].done);
  }
}

TEST(restore_state_identity, a_finished_partition_that_lost_records_is_refused) {
  const auto s = sample();
  EXPECT_TRUE(check_written_ends(s, {{{"dst", 0}, 100}}, "F"));
  EXPECT_TRUE(check_written_ends(s, {{{"dst", 0}, 150}}, "F"));
  auto r = check_written_ends(s, {{{"dst", 0}, 40}}, "/x/state.json");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::conflict));
  EXPECT_NE(r.error().message.find("dst[0] ends at offset 40"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("/x/state.json"), std::string::npos) << r.error().message;
}

TEST(restore_state_resume, saved_progress_is_taken_only_for_the_same_source_and_target) {
  const auto saved = sample();  // src[0] -> dst[0], done
  restore_state now;
  auto fresh = [](const std::string& src, const std::string& dst, std::int32_t part) {
    partition_state p;
    p.source_topic = src;
    p.target_topic = dst;
    p.target_partition = part;
    return p;
  };
  now.partitions = {fresh("src", "dst", 0), fresh("src", "other", 0), fresh("src", "dst", 1), fresh("x", "dst", 0)};
  adopt_saved_progress(now, saved);
  EXPECT_TRUE(now.partitions[0].done);
  EXPECT_EQ(now.partitions[0].records, 100u);
  EXPECT_EQ(now.partitions[0].map.translate(50), 50);
  for (std::size_t i = 1; i < now.partitions.size(); ++i) {
    EXPECT_FALSE(now.partitions[i].done) << i;
    EXPECT_EQ(now.partitions[i].target_end, -1) << i;
    EXPECT_TRUE(now.partitions[i].map.empty()) << i;
  }
}

}  // namespace
}  // namespace kb::pipeline::restore
