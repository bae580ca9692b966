// set_open against a filesystem store in a temp folder (no broker): a worker's claim (marker,
// owner records, refusal while a one-process backup holds the lease) and the one writer's removal
// of an interrupted writer's temp files, never a restore's.
#include "pipeline/backup/set_open.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;

class set_open_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kb-set-open-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  /// A temp file as a put killed mid-write by a process that no longer runs leaves it.
  fs::path leftover(const std::string& folder) {
    fs::create_directories(dir_ / folder);
    auto path = dir_ / folder / "00000000000000000000.kbs.kb-tmp.999999999.1";
    std::ofstream(path) << "partial";
    fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::hours(1));
    return path;
  }
  static worker_scope scope() {
    worker_scope w;
    w.group_id = "g";
    w.member_id = "m-1";
    w.generation = 4;
    w.partitions = {{"orders", 0}, {"orders", 3}};
    return w;
  }
  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
  sf::backup_paths paths_{"b1"};
};

TEST_F(set_open_test, worker_marker_is_valid_for_the_ttl) {
  const auto m = worker_marker(scope(), 30'000, 1'000);
  EXPECT_EQ(m.group_id, "g");
  EXPECT_EQ(m.member_id, "m-1");
  EXPECT_EQ(m.generation, 4);
  EXPECT_EQ(m.updated_ms, 1'000);
  EXPECT_EQ(m.expires_ms, 31'000);
}

TEST_F(set_open_test, a_worker_claims_the_marker_and_its_partitions) {
  ASSERT_TRUE(claim_as_worker(*store_, paths_, scope(), 30'000, 5'000));
  auto marker = store_->get(workers_marker_key(paths_));
  ASSERT_TRUE(marker) << marker.error().message;
  auto parsed = parse_workers_marker(std::string_view(reinterpret_cast<const char*>(marker->data()), marker->size()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->expires_ms, 35'000);
  auto owners = read_owners(*store_, paths_);
  ASSERT_TRUE(owners) << owners.error().message;
  ASSERT_EQ(owners->size(), 2u);
  EXPECT_EQ((*owners)[0].first, (net::topic_partition{"orders", 0}));
  EXPECT_EQ((*owners)[1].first, (net::topic_partition{"orders", 3}));
  EXPECT_EQ((*owners)[1].second.generation, 4);
  EXPECT_EQ((*owners)[1].second.assigned_ms, 5'000);
}

TEST_F(set_open_test, a_worker_is_refused_while_the_lease_is_held) {
  // A live holder on another host: never taken over, so the worker refuses and claims nothing.
  sf::lease l{"other-host:1", 1, 4'000'000'000'000};
  ASSERT_TRUE(store_->put(paths_.lock(), as_bytes(sf::to_json(l))));
  auto r = claim_as_worker(*store_, paths_, scope(), 30'000, 5'000);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::conflict)) << r.error().message;
  EXPECT_FALSE(store_->get(workers_marker_key(paths_)));
}

TEST_F(set_open_test, leftovers_of_the_set_go_but_not_a_restores) {
  const auto ours = leftover("b1/topics/orders/0");
  const auto restore = leftover("b1/restores/r1");
  remove_leftovers(*store_, paths_, "b1", std::chrono::system_clock::now());
  EXPECT_FALSE(fs::exists(ours));
  EXPECT_TRUE(fs::exists(restore));
}

}  // namespace
}  // namespace kb::pipeline::backup
