// prune's decision (keep-last floor, max age, live leases, unreadable manifests) and its
// deletion over a real filesystem store in a temp directory: what goes, what stays, dry run.
#include "pipeline/retention/prune.hpp"

#include <filesystem>
#include <optional>
#include <random>

#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"
#include "storage/format/manifest.hpp"

namespace kb::pipeline::retention {
namespace {

namespace sf = storage::format;
namespace fs = std::filesystem;

constexpr std::int64_t day = 24LL * 3600 * 1000;
constexpr std::int64_t now = 1'800'000'000'000;  // a fixed "now" (2027-01-15)

prune_policy policy(std::uint32_t keep_last, std::optional<std::uint32_t> max_age_days = std::nullopt,
                    bool dry_run = false) {
  prune_policy p;
  p.keep_last = keep_last;
  p.max_age_days = max_age_days;
  p.dry_run = dry_run;
  return p;
}

prune_candidate cand(std::string id, std::int64_t age_days) {
  prune_candidate c;
  c.backup_id = std::move(id);
  c.created_ms = now - age_days * day;
  c.last_written_ms = c.created_ms;
  c.size_bytes = 100;
  c.objects = 3;
  return c;
}

std::vector<std::string> removed(const std::vector<prune_decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds)
    if (d.verdict == prune_verdict::remove) out.push_back(d.backup.backup_id);
  return out;
}

TEST(PlanPrune, KeepLastAloneKeepsTheNewestN) {
  auto ds = plan_prune({cand("a", 5), cand("b", 1), cand("c", 3), cand("d", 9)}, policy(2), now);
  ASSERT_EQ(ds.size(), 4u);
  EXPECT_EQ(ds[0].backup.backup_id, "b");  // newest first
  EXPECT_EQ(removed(ds), (std::vector<std::string>{"a", "d"}));
}

TEST(PlanPrune, MaxAgeDeletesOnlyOlderOnesAndKeepLastIsAFloor) {
  // All four are older than 2 days, but keep-last 2 keeps the two newest.
  auto ds = plan_prune({cand("a", 5), cand("b", 3), cand("c", 4), cand("d", 9)},
                       policy(2, 2), now);
  EXPECT_EQ(removed(ds), (std::vector<std::string>{"a", "d"}));
  // Younger than the age: kept although beyond keep-last.
  ds = plan_prune({cand("a", 1), cand("b", 0), cand("c", 10)}, policy(1, 7), now);
  EXPECT_EQ(removed(ds), (std::vector<std::string>{"c"}));
  // Exactly at the limit is not older than it.
  ds = plan_prune({cand("a", 7), cand("b", 0)}, policy(0, 7), now);
  EXPECT_TRUE(removed(ds).empty());
}

TEST(PlanPrune, UsesTheLastWriteNotTheCreation) {
  auto c = cand("cont", 30);
  c.last_written_ms = now - 1 * day;  // a continuous backup created long ago, written yesterday
  auto ds = plan_prune({c, cand("new", 0)}, policy(1, 7), now);
  EXPECT_TRUE(removed(ds).empty());
}

TEST(PlanPrune, NeverDeletesALeasedOrUnreadableBackup) {
  auto leased = cand("leased", 40);
  leased.lease_owner = "host:1:abc";
  leased.lease_expires_ms = now + 60'000;
  auto broken = cand("broken", 40);
  broken.problem = "backup.json: not JSON";
  broken.last_written_ms = -1;
  auto ds = plan_prune({leased, broken, cand("old", 50), cand("new", 0)}, policy(1), now);
  EXPECT_EQ(removed(ds), (std::vector<std::string>{"old"}));
  for (const auto& d : ds) {
    if (d.backup.backup_id == "leased") {
      EXPECT_NE(d.reason.find("lease"), std::string::npos) << d.reason;
    }
    if (d.backup.backup_id == "broken") {
      EXPECT_NE(d.reason.find("unreadable"), std::string::npos) << d.reason;
    }
  }
  // An unreadable backup does not count towards the floor: keep-last 1 still keeps "new".
  ds = plan_prune({broken, cand("new", 3)}, policy(1, 1), now);
  EXPECT_TRUE(removed(ds).empty());
}

TEST(PlanPrune, PolicyCheck) {
  EXPECT_FALSE(check_policy(policy(0)));
  EXPECT_TRUE(check_policy(policy(0, 3)));
  EXPECT_TRUE(check_policy(policy(1)));
}

class PruneStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("kb-prune-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_backup(const std::string& id, std::int64_t age_days) {
    sf::backup_paths p{id};
    sf::backup_manifest m;
    m.tool_version = "0.1.0";
    m.backup_id = id;
    m.created_ms = now - age_days * day;
    m.updated_ms = m.created_ms;
    m.mode = "one-shot";
    m.compression = "none";
    m.topics = {"t"};
    ASSERT_TRUE(store_->put(p.backup_manifest(), as_bytes(sf::to_json(m))));
    ASSERT_TRUE(store_->put(p.checkpoint("t", 0), as_bytes(std::string("{}"))));
    ASSERT_TRUE(store_->put(p.segment("t", 0, 0, 9), as_bytes(std::string("segment bytes"))));
  }
  void write_lease(const std::string& id, std::int64_t expires_ms) {
    sf::lease l{"otherhost:42:cafe", now - 1000, expires_ms};
    ASSERT_TRUE(store_->put(sf::backup_paths{id}.lock(), as_bytes(sf::to_json(l))));
  }
  bool exists(const std::string& id) { return fs::exists(dir_ / id); }

  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
};

TEST_F(PruneStore, DeletesWholeBackupIdsAndKeepsTheRest) {
  write_backup("old1", 40);
  write_backup("old2", 20);
  write_backup("mid", 10);
  write_backup("new", 1);
  auto r = prune(*store_, policy(1, 14), now, "me:1:x");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->removed_count(), 2u);
  EXPECT_EQ(r->failed_count(), 0u);
  EXPECT_FALSE(exists("old1"));  // the folder itself is gone, not only its files
  EXPECT_FALSE(exists("old2"));
  EXPECT_TRUE(exists("mid"));
  EXPECT_TRUE(exists("new"));
  const auto text = prune_text(*r, store_->describe());
  EXPECT_NE(text.find("deleted old1"), std::string::npos) << text;
  EXPECT_NE(text.find("kept mid"), std::string::npos) << text;
}

TEST_F(PruneStore, DryRunDeletesNothing) {
  write_backup("a", 40);
  write_backup("b", 1);
  auto r = prune(*store_, policy(1, std::nullopt, true), now, "me:1:x");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->removed_count(), 1u);
  EXPECT_TRUE(exists("a"));
  EXPECT_TRUE(fs::exists(dir_ / "a" / "topics" / "t" / "0"));
  EXPECT_NE(prune_text(*r, "x").find("would delete a"), std::string::npos);
}

TEST_F(PruneStore, ALiveLeaseKeepsTheBackupAnExpiredOneDoesNot) {
  write_backup("live", 40);
  write_lease("live", now + 60'000);
  write_backup("dead", 40);
  write_lease("dead", now - 60'000);
  write_backup("new", 0);
  auto r = prune(*store_, policy(1), now, "me:1:x");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(exists("live"));
  EXPECT_TRUE(fs::exists(dir_ / "live" / "lock.json"));
  EXPECT_FALSE(exists("dead"));
  EXPECT_TRUE(exists("new"));
}

TEST_F(PruneStore, FolderWithoutBackupJsonIsNotTouched) {
  ASSERT_TRUE(store_->put("notabackup/data.txt", as_bytes(std::string("keep me"))));
  write_backup("old", 40);
  write_backup("new", 0);
  auto r = prune(*store_, policy(1), now, "me:1:x");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(fs::exists(dir_ / "notabackup" / "data.txt"));
  EXPECT_FALSE(exists("old"));
}

}  // namespace
}  // namespace kb::pipeline::retention
