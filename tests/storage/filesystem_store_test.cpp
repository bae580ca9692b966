// The filesystem store against the real filesystem in a fresh temp directory: atomic put,
// sorted listing, ranges, key escapes, create-if-absent, writer commit/abort.
#include "storage/filesystem_store.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kb::storage {
namespace {

namespace fs = std::filesystem;

class FilesystemStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("kb-fs-store-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(rd()));
    store_ = std::make_unique<filesystem_store>(dir_ / "root");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<std::string> files_on_disk() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_regular_file()) out.push_back(fs::relative(it->path(), dir_).generic_string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static byte_vector bytes(std::string_view s) { return byte_vector(s.begin(), s.end()); }

  fs::path dir_;
  std::unique_ptr<filesystem_store> store_;
};

TEST_F(FilesystemStore, PutGetHeadRemove) {
  ASSERT_TRUE(store_->put("topics/orders/0/a.kbs", as_bytes("hello world")));
  // The bytes are where a plain reader expects them, under the root.
  std::ifstream in(dir_ / "root/topics/orders/0/a.kbs", std::ios::binary);
  std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, "hello world");

  auto got = store_->get("topics/orders/0/a.kbs");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, bytes("hello world"));
  auto meta = store_->head("topics/orders/0/a.kbs");
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->size, 11u);

  ASSERT_TRUE(store_->put("topics/orders/0/a.kbs", as_bytes("replaced")));
  EXPECT_EQ(*store_->get("topics/orders/0/a.kbs"), bytes("replaced"));

  ASSERT_TRUE(store_->remove("topics/orders/0/a.kbs"));
  auto gone = store_->get("topics/orders/0/a.kbs");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(errc::not_found));
  EXPECT_NE(gone.error().message.find("topics/orders/0/a.kbs"), std::string::npos);
  EXPECT_TRUE(store_->remove("topics/orders/0/a.kbs")) << "removing a missing key succeeds";
  EXPECT_FALSE(fs::exists(dir_ / "root/topics")) << "empty folders are dropped";
  EXPECT_TRUE(store_->head("nope").error().is(errc::not_found));
}

TEST_F(FilesystemStore, ListIsRecursiveSortedAndFiltered) {
  for (const char* key : {"b/2", "a/1", "a/10", "a/2", "a/b/c", "ab", "c"}) {
    ASSERT_TRUE(store_->put(key, as_bytes(key)));
  }
  auto all = store_->list("");
  ASSERT_TRUE(all);
  std::vector<std::string> keys;
  for (const auto& o : *all) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/10", "a/2", "a/b/c", "ab", "b/2", "c"}));
  EXPECT_EQ((*all)[1].size, 4u);

  auto under_a = store_->list("a/");
  ASSERT_TRUE(under_a);
  EXPECT_EQ(under_a->size(), 4u);
  auto starting_a = store_->list("a");  // a string prefix, not a folder
  ASSERT_TRUE(starting_a);
  EXPECT_EQ(starting_a->size(), 5u);
  auto a1 = store_->list("a/1");
  ASSERT_TRUE(a1);
  ASSERT_EQ(a1->size(), 2u);
  EXPECT_EQ((*a1)[1].key, "a/10");

  auto after = store_->list("a/", {.start_after = "a/10"});
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].key, "a/2");

  EXPECT_TRUE(store_->list("missing/")->empty());

  auto folders = store_->list_prefixes("");
  ASSERT_TRUE(folders);
  EXPECT_EQ(*folders, (std::vector<std::string>{"a/", "b/"}));
  EXPECT_EQ(*store_->list_prefixes("a/"), (std::vector<std::string>{"a/b/"}));
}

TEST_F(FilesystemStore, EmptyRootListsNothing) {
  auto all = store_->list("");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  EXPECT_TRUE(store_->list_prefixes("")->empty());
}

TEST_F(FilesystemStore, RangeReads) {
  ASSERT_TRUE(store_->put("r", as_bytes("0123456789")));
  EXPECT_EQ(*store_->get_range("r", 0, 4), bytes("0123"));
  EXPECT_EQ(*store_->get_range("r", 3, 4), bytes("3456"));
  EXPECT_EQ(*store_->get_range("r", 8, 100), bytes("89")) << "cut short at the end";
  EXPECT_TRUE(store_->get_range("r", 5, 0)->empty());
  auto past = store_->get_range("r", 10, 1);
  ASSERT_FALSE(past);
  EXPECT_TRUE(past.error().is(errc::invalid_argument));
  EXPECT_TRUE(store_->get_range("missing", 0, 1).error().is(errc::not_found));
}

TEST_F(FilesystemStore, KeysCannotEscapeTheRoot) {
  for (const char* key : {"../outside", "a/../../outside", "/etc/passwd", "a//b", "./a", "a/.",
                          "", "folder/", "a\nb", "x.kb-tmp.1"}) {
    auto put = store_->put(key, as_bytes("x"));
    ASSERT_FALSE(put) << key;
    EXPECT_TRUE(put.error().is(errc::invalid_argument)) << key;
    EXPECT_FALSE(store_->get(key)) << key;
    EXPECT_FALSE(store_->open_writer(key)) << key;
  }
  EXPECT_FALSE(store_->list("../"));
  EXPECT_FALSE(store_->list_prefixes("../"));
  EXPECT_TRUE(files_on_disk().empty());
}

TEST_F(FilesystemStore, WriterIsInvisibleUntilCommit) {
  auto writer = store_->open_writer("seg/1.kbs");
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->write(as_bytes("part one, ")));
  ASSERT_TRUE((*writer)->write(as_bytes("part two")));
  EXPECT_EQ((*writer)->bytes_written(), 18u);
  EXPECT_TRUE(store_->get("seg/1.kbs").error().is(errc::not_found));
  EXPECT_TRUE(store_->list("")->empty()) << "temp files are not listed";
  ASSERT_TRUE((*writer)->commit());
  EXPECT_EQ(*store_->get("seg/1.kbs"), bytes("part one, part two"));
  EXPECT_EQ(files_on_disk(), (std::vector<std::string>{"root/seg/1.kbs"}));
}

TEST_F(FilesystemStore, AbortAndDestructionLeaveNothing) {
  {
    auto writer = store_->open_writer("seg/2.kbs");
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->write(as_bytes("doomed")));
    (*writer)->abort();
    (*writer)->abort();
    EXPECT_FALSE((*writer)->commit());
  }
  {
    auto writer = store_->open_writer("seg/3.kbs");
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->write(as_bytes("dropped")));
  }  // destroyed without commit
  EXPECT_TRUE(store_->list("")->empty());
  EXPECT_TRUE(files_on_disk().empty());
}

TEST_F(FilesystemStore, PutIfAbsent) {
  ASSERT_TRUE(store_->put_if_absent("lock.json", as_bytes("first")));
  auto second = store_->put_if_absent("lock.json", as_bytes("second"));
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(errc::conflict));
  EXPECT_EQ(*store_->get("lock.json"), bytes("first"));
  EXPECT_EQ(files_on_disk(), (std::vector<std::string>{"root/lock.json"}));
}

TEST_F(FilesystemStore, LargeObjectRoundTrips) {
  byte_vector big(3 * 1024 * 1024 + 17);
  std::mt19937 rng(42);
  for (auto& b : big) b = static_cast<std::uint8_t>(rng());
  ASSERT_TRUE(store_->put("big", big));
  EXPECT_EQ(*store_->get("big"), big);
  auto mid = store_->get_range("big", 1000000, 5);
  ASSERT_TRUE(mid);
  EXPECT_EQ(*mid, byte_vector(big.begin() + 1000000, big.begin() + 1000005));
}

TEST_F(FilesystemStore, PermissionDeniedIsReported) {
  ASSERT_TRUE(store_->put("ro/x", as_bytes("x")));
  const auto open = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                    fs::perms::others_read | fs::perms::others_exec;
  fs::permissions(dir_, open);
  fs::permissions(dir_ / "root", open);
  fs::permissions(dir_ / "root/ro", fs::perms::owner_read | fs::perms::owner_exec |
                                        fs::perms::others_read | fs::perms::others_exec);
  // Root ignores directory modes, so CI (which runs as root) checks from a child that has
  // dropped to nobody; an unprivileged run checks in a child too, to keep one code path.
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    auto put = store_->put("ro/y", as_bytes("y"));
    if (put) ::_exit(11);
    ::_exit(put.error().is(errc::authorization) ? 0 : 12);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  fs::permissions(dir_ / "root/ro", fs::perms::owner_all);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: could not drop privileges, 11: the write succeeded, 12: wrong error class";
  EXPECT_FALSE(fs::exists(dir_ / "root/ro/y"));
}

TEST_F(FilesystemStore, CleanupStaleRemovesDeadWritersTempFilesOnly) {
  ASSERT_TRUE(store_->put("b/topics/t/0/00000000000000000000-00000000000000000009.kbs", as_bytes("seg")));
  ASSERT_TRUE(store_->put("b/restores/r1/state.json", as_bytes("{}")));
  // A dead process's leftovers: pid 2^22 + 7 is above the default pid_max of 2^22.
  const std::string dead = ".kb-tmp.4194311.3";
  const fs::path base = dir_ / "root/b";
  auto touch = [](const fs::path& p, std::string_view text) {
    std::ofstream(p) << text;
  };
  touch(base / ("topics/t/0/00000000000000000010-00000000000000000019.kbs" + dead), "12345");
  touch(base / ("checkpoint.json" + dead), "12");
  touch(base / ("restores/r1/state.json" + dead), "kept: a restore's folder");
  // A temp file of a live process (our parent, which outlives this test) stays.
  touch(base / ("live.json.kb-tmp." + std::to_string(::getppid()) + ".1"), "live");
  // A temp file written after the lease was taken stays.
  const auto before = std::chrono::system_clock::now() + std::chrono::seconds(5);
  touch(base / ("topics/t/0/late.kbs" + dead), "late");
  fs::last_write_time(base / ("topics/t/0/late.kbs" + dead),
                      fs::file_time_type::clock::now() + std::chrono::seconds(60));

  auto cleaned = store_->cleanup_stale("b/", before, {"b/restores/"});
  ASSERT_TRUE(cleaned) << cleaned.error().message;
  std::vector<std::string> removed = cleaned->removed;
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"b/checkpoint.json" + dead,
                                               "b/topics/t/0/00000000000000000010-00000000000000000019.kbs" + dead}));
  EXPECT_EQ(cleaned->bytes, 7u);
  EXPECT_EQ(files_on_disk(),
            (std::vector<std::string>{"root/b/live.json.kb-tmp." + std::to_string(::getppid()) + ".1",
                                      "root/b/restores/r1/state.json",
                                      "root/b/restores/r1/state.json" + dead,
                                      "root/b/topics/t/0/00000000000000000000-00000000000000000009.kbs",
                                      "root/b/topics/t/0/late.kbs" + dead}));
  // A second pass finds nothing; a missing prefix is not an error.
  auto again = store_->cleanup_stale("b/", before, {});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->removed.size(), 1u);  // now the restore's temp file too, as nothing keeps it
  auto none = store_->cleanup_stale("missing/", before, {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->removed.empty());
}

}  // namespace
}  // namespace kb::storage
