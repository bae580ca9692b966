// Atomic local files: a write replaces the whole content, creates missing directories, leaves no
// temp file behind, and fails with a clear error on a read-only directory; read_file reports a
// missing file as not_found.
#include "storage/local_file.hpp"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

namespace kb::storage {
namespace {

namespace fs = std::filesystem;

class local_file : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kb-local-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

std::string text_of(const byte_vector& b) { return std::string(b.begin(), b.end()); }

TEST_F(local_file, write_creates_directories_and_replaces_the_whole_content) {
  const fs::path file = dir_ / "a" / "b" / "state.json";
  ASSERT_TRUE(write_file_atomic(file, as_bytes("a much longer first content")));
  ASSERT_TRUE(write_file_atomic(file, as_bytes("short")));
  auto got = read_file(file);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(text_of(*got), "short");
  for (const auto& e : fs::directory_iterator(file.parent_path())) {
    EXPECT_EQ(e.path().filename().string().find(temp_marker), std::string::npos) << e.path();
  }
}

TEST_F(local_file, missing_file_is_not_found) {
  auto got = read_file(dir_ / "absent.json");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(errc::not_found));
}

TEST_F(local_file, a_directory_is_not_read_as_a_file) {
  auto got = read_file(dir_);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("not a regular file"), std::string::npos) << got.error().message;
}

TEST_F(local_file, a_file_above_the_limit_is_refused) {
  ASSERT_TRUE(write_file_atomic(dir_ / "big", as_bytes("0123456789")));
  auto got = read_file(dir_ / "big", 4);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("more than"), std::string::npos) << got.error().message;
}

TEST_F(local_file, a_failed_write_keeps_the_old_content_and_names_the_file) {
  const fs::path file = dir_ / "keep.json";
  ASSERT_TRUE(write_file_atomic(file, as_bytes("old")));
  // A directory where the temp file would go makes the write fail (works as root too).
  const fs::path blocked = dir_ / "sub";
  fs::create_directories(blocked);
  ASSERT_TRUE(write_file_atomic(blocked / "x", as_bytes("1")));
  auto bad = write_file_atomic(dir_ / "keep.json" / "child", as_bytes("new"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("keep.json"), std::string::npos) << bad.error().message;
  auto got = read_file(file);
  ASSERT_TRUE(got);
  EXPECT_EQ(text_of(*got), "old");
}

}  // namespace
}  // namespace kb::storage
