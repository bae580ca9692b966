// inspect list and open_location: every backup and only folders holding backup.json, an unknown
// backup id naming the existing ones, a missing directory.
#include "pipeline/inspect/inspect.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/pipeline/inspect/inspect_fixture.hpp"

namespace kb::pipeline::inspect {
namespace {

using testing::Inspect;
using testing::big_records;
using testing::small_records;
namespace sf = storage::format;
namespace fs = std::filesystem;
using sf::testing::rebased;
using sf::testing::test_batch;

TEST_F(Inspect, UnknownBackupIdListsTheExistingOnes) {
  write_manifest("b2", {});
  auto d = describe_backup(store_, "nope");
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().is(errc::not_found));
  EXPECT_NE(d.error().message.find("backups there: b1, b2"), std::string::npos) << d.error().message;
  auto v = validate_backup(store_, "nope", {});
  ASSERT_FALSE(v);
  EXPECT_TRUE(v.error().is(errc::not_found));
}

TEST_F(Inspect, ListShowsEveryBackupAndOnlyFoldersHoldingBackupJson) {
  write_manifest("b2", {"x", "y"});
  ASSERT_TRUE(store_.put("junk/readme.txt", as_bytes("hello")));  // a folder that is not a backup
  fs::create_directories(dir_.path() / "empty-dir");
  ASSERT_TRUE(store_.put("broken/backup.json", as_bytes("{not json")));  // a backup whose manifest is damaged
  auto l = list_backups(store_);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].backup_id, "b1");
  EXPECT_EQ((*l)[0].created_ms, 1736899200000);
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_.path() / "b1"))
    if (e.is_regular_file()) total += e.file_size();
  EXPECT_EQ((*l)[0].size_bytes, total);
  EXPECT_EQ((*l)[1].topics, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ((*l)[2].backup_id, "broken");
  EXPECT_FALSE((*l)[2].problem.empty());
  for (const auto& b : *l) {
    EXPECT_NE(b.backup_id, "junk");
    EXPECT_NE(b.backup_id, "empty-dir");
  }
  const std::string text = list_text(*l, "/somewhere/");
  EXPECT_NE(text.find("2025-01-15T00:00:00.000Z"), std::string::npos) << text;
  EXPECT_NE(text.find("3 backups in /somewhere/"), std::string::npos) << text;
  EXPECT_EQ(text.find("junk"), std::string::npos) << text;
  EXPECT_EQ(list_text({}, "/empty/"), "No backups in /empty/\n");
}

TEST_F(Inspect, OpenLocationRejectsAMissingDirectory) {
  auto s = open_location((dir_.path() / "does-not-exist").string(), [](std::string_view) { return std::nullopt; });
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::not_found));
  auto ok = open_location(dir_.path().string(), [](std::string_view) { return std::nullopt; });
  ASSERT_TRUE(ok) << ok.error().message;
}

}  // namespace
}  // namespace kb::pipeline::inspect
