// The filesystem's commit_group on a real directory: nothing visible before sync, everything after,
// nothing left behind by an unsynced or failed group, replacements in order, the default group.
#include "storage/filesystem_group.hpp"

#include <algorithm>
#include <map>
#include <random>

#include <gtest/gtest.h>
#include <unistd.h>

#include "storage/filesystem_store.hpp"

namespace kb::storage {
namespace {

namespace fs = std::filesystem;

class FilesystemGroup : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kb-fs-group-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    store_ = std::make_unique<filesystem_store>(dir_ / "root");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<std::string> files_on_disk() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
      if (it->is_regular_file()) out.push_back(fs::relative(it->path(), dir_).generic_string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string text(std::string_view key) {
    auto got = store_->get(key);
    return got ? std::string(got->begin(), got->end()) : std::string("<") + got.error().message + ">";
  }

  fs::path dir_;
  std::unique_ptr<filesystem_store> store_;
};

TEST_F(FilesystemGroup, ObjectsAppearOnlyAtSyncEachWhole) {
  ASSERT_TRUE(store_->groups_commits());
  auto g = store_->open_commit_group();
  ASSERT_TRUE(g->put("t/0/checkpoint.json", as_bytes("{\"a\":1}")));
  auto w = g->open_writer("t/1/seg.kbs");
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(as_bytes("part one, ")));
  ASSERT_TRUE((*w)->write(as_bytes("part two")));
  ASSERT_TRUE((*w)->commit());
  w->reset();
  // Staged: neither a read nor a listing sees them (only temp files exist).
  EXPECT_EQ(store_->get("t/0/checkpoint.json").error().code, make_error_code(errc::not_found));
  auto listed = store_->list("t/");
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  ASSERT_TRUE(g->sync());
  EXPECT_EQ(text("t/0/checkpoint.json"), "{\"a\":1}");
  EXPECT_EQ(text("t/1/seg.kbs"), "part one, part two");
  EXPECT_EQ(files_on_disk(), (std::vector<std::string>{"root/t/0/checkpoint.json", "root/t/1/seg.kbs"}));
  // A sync with nothing staged is fine, and the group can be used again.
  ASSERT_TRUE(g->sync());
  ASSERT_TRUE(g->put("t/0/checkpoint.json", as_bytes("{\"a\":2}")));
  EXPECT_EQ(text("t/0/checkpoint.json"), "{\"a\":1}");
  ASSERT_TRUE(g->sync());
  EXPECT_EQ(text("t/0/checkpoint.json"), "{\"a\":2}");
}

TEST_F(FilesystemGroup, AnUnsyncedGroupLeavesNothing) {
  {
    auto g = store_->open_commit_group();
    ASSERT_TRUE(g->put("t/0/a.kbs", as_bytes("x")));
    auto w = g->open_writer("t/0/b.kbs");
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(as_bytes("y")));  // neither committed nor aborted: its destructor aborts
  }
  EXPECT_TRUE(files_on_disk().empty());
  auto g = store_->open_commit_group();
  auto w = g->open_writer("t/0/c.kbs");
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(as_bytes("z")));
  (*w)->abort();
  ASSERT_TRUE(g->sync());
  EXPECT_TRUE(files_on_disk().empty());
}

TEST_F(FilesystemGroup, ALaterPutOfTheSameKeyWins) {
  auto g = store_->open_commit_group();
  ASSERT_TRUE(g->put("t/0/checkpoint.json", as_bytes("old")));
  ASSERT_TRUE(g->put("t/0/checkpoint.json", as_bytes("new")));
  ASSERT_TRUE(g->sync());
  EXPECT_EQ(text("t/0/checkpoint.json"), "new");
  EXPECT_EQ(files_on_disk(), (std::vector<std::string>{"root/t/0/checkpoint.json"}));
}

TEST_F(FilesystemGroup, AFailedRenameReportsTheObjectAndRemovesEveryTempFile) {
  // A folder where the object should go: rename(2) refuses it.
  fs::create_directories(dir_ / "root/t/0/b.kbs/inside");
  auto g = store_->open_commit_group();
  ASSERT_TRUE(g->put("t/0/a.kbs", as_bytes("a")));
  ASSERT_TRUE(g->put("t/0/b.kbs", as_bytes("b")));
  ASSERT_TRUE(g->put("t/0/c.kbs", as_bytes("c")));
  auto r = g->sync();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("b.kbs"), std::string::npos) << r.error().message;
  // a.kbs was renamed before the failure; b's and c's temp files are gone.
  EXPECT_EQ(files_on_disk(), (std::vector<std::string>{"root/t/0/a.kbs"}));
  ASSERT_TRUE(g->sync());  // the group is empty again
}

TEST_F(FilesystemGroup, BadKeysAreRefusedAtOnce) {
  auto g = store_->open_commit_group();
  EXPECT_EQ(g->put("../escape", as_bytes("x")).error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(g->put("t/a.kbs.kb-tmp.1.2", as_bytes("x")).error().code, make_error_code(errc::invalid_argument));
}

/// A store without its own group gets the default one: every put durable and visible at once.
class memory_store final : public object_store {
 public:
  using object_store::put;  // put(key, pieces): joined, then put below
  result<void> put(std::string_view key, byte_view data) override {
    objects_[std::string(key)] = byte_vector(data.begin(), data.end());
    return {};
  }
  result<void> put_if_absent(std::string_view key, byte_view data) override { return put(key, data); }
  result<byte_vector> get(std::string_view key) override {
    auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return fail(errc::not_found, "absent");
    return it->second;
  }
  result<byte_vector> get_range(std::string_view, std::uint64_t, std::uint64_t) override {
    return fail(errc::internal, "unused");
  }
  result<object_meta> head(std::string_view) override { return fail(errc::internal, "unused"); }
  result<std::vector<std::string>> list_prefixes(std::string_view) override { return std::vector<std::string>{}; }
  result<void> remove(std::string_view) override { return {}; }
  result<std::unique_ptr<object_writer>> open_writer(std::string_view) override {
    return fail(errc::internal, "unused");
  }
  [[nodiscard]] std::string describe() const override { return "memory"; }

 protected:
  result<std::vector<object_info>> do_list(std::string_view, const list_options&) override {
    return std::vector<object_info>{};
  }

 private:
  std::map<std::string, byte_vector> objects_;
};

TEST(DefaultGroup, PassesEachPutStraightThrough) {
  memory_store s;
  EXPECT_FALSE(s.groups_commits());
  auto g = s.open_commit_group();
  ASSERT_TRUE(g->put("k", as_bytes("v")));
  ASSERT_TRUE(s.get("k"));  // visible before sync
  EXPECT_TRUE(g->sync());
}

}  // namespace
}  // namespace kb::storage
