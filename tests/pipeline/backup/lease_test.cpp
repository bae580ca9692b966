// lease_keeper against a filesystem store in a temp folder (no broker): taking, refusing a live
// holder, taking over a dead local one, renewal timing and outcomes, release.
#include "pipeline/backup/lease.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;
using namespace std::chrono_literals;

class lease_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kb-lease-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  /// Writes lock.json as if `owner` held the lease until far in the future.
  void hold_as(const std::string& owner) {
    sf::lease l{owner, 1, 4'000'000'000'000};
    ASSERT_TRUE(store_->put(paths_.lock(), as_bytes(sf::to_json(l))));
  }
  /// A pid that ran and has been reaped: no process has it (barring reuse within the test).
  static pid_t dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
  }
  static std::string host() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
  }

  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
  sf::backup_paths paths_{"b1"};
};

TEST(lease_owner, names_host_pid_and_a_random_part) {
  const auto owner = make_lease_owner();
  const auto p = parse_lease_owner(owner);
  ASSERT_TRUE(p) << owner;
  EXPECT_EQ(p->pid, ::getpid());
  EXPECT_NE(make_lease_owner(), owner);  // unique per run
  EXPECT_EQ(owner.size() - owner.rfind(':') - 1, 36u) << owner;  // host:pid:UUID
  EXPECT_FALSE(parse_lease_owner("no-colons"));
  EXPECT_FALSE(parse_lease_owner("host:notapid:x"));
  EXPECT_FALSE(parse_lease_owner("host:-4:x"));
  EXPECT_FALSE(parse_lease_owner("host:12"));
}

TEST_F(lease_test, holder_dead_only_for_a_gone_process_on_this_host) {
  const auto gone = dead_pid();
  EXPECT_TRUE(holder_is_dead_local(fmt::format("{}:{}:abc", host(), gone)));
  EXPECT_FALSE(holder_is_dead_local(fmt::format("{}:{}:abc", host(), ::getpid())));  // ourselves
  EXPECT_FALSE(holder_is_dead_local(fmt::format("{}:{}:abc", host(), ::getppid())));  // alive
  EXPECT_FALSE(holder_is_dead_local(fmt::format("{}-elsewhere:{}:abc", host(), gone)));
}

TEST_F(lease_test, takes_a_free_lease_and_releases_it) {
  lease_keeper k(*store_, paths_, "b1", 60'000);
  ASSERT_TRUE(k.take(1'000));
  ASSERT_TRUE(k.held());
  EXPECT_EQ(k.current()->expires_ms, 61'000);
  EXPECT_TRUE(store_->get(paths_.lock()));
  k.release();
  EXPECT_FALSE(k.held());
  EXPECT_TRUE(store_->get(paths_.lock()).error().is(errc::not_found));
}

TEST_F(lease_test, a_live_holder_blocks_with_conflict) {
  hold_as(fmt::format("{}:{}:live", host(), ::getppid()));
  lease_keeper k(*store_, paths_, "b1", 60'000);
  auto r = k.take(1'000);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::conflict)) << r.error().message;
  EXPECT_FALSE(k.held());
}

TEST_F(lease_test, a_holder_on_another_host_blocks_even_with_a_dead_pid) {
  hold_as(fmt::format("{}-elsewhere:{}:x", host(), dead_pid()));
  lease_keeper k(*store_, paths_, "b1", 60'000);
  EXPECT_TRUE(k.take(1'000).error().is(errc::conflict));
}

TEST_F(lease_test, a_dead_local_holder_is_taken_over_at_once) {
  hold_as(fmt::format("{}:{}:dead", host(), dead_pid()));
  lease_keeper k(*store_, paths_, "b1", 60'000);
  ASSERT_TRUE(k.take(1'000));
  auto text = store_->get(paths_.lock());
  ASSERT_TRUE(text);
  auto now = sf::parse_lease(as_text(*text));
  ASSERT_TRUE(now);
  EXPECT_EQ(now->owner, k.current()->owner);
}

TEST_F(lease_test, renewal_every_third_of_the_ttl_and_its_outcomes) {
  lease_keeper k(*store_, paths_, "b1", 30'000);
  EXPECT_FALSE(k.renewal_due(std::chrono::steady_clock::now() + 1h));  // nothing held
  ASSERT_TRUE(k.take(1'000));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(k.renewal_due(t0 + 9s));
  EXPECT_TRUE(k.renewal_due(t0 + 11s));
  k.renewing(t0 + 11s);
  EXPECT_FALSE(k.renewal_due(t0 + 20s));
  EXPECT_EQ(k.renewed(k.renew(*k.current(), 5'000)), renewal_outcome::renewed);
  EXPECT_EQ(k.current()->expires_ms, 35'000);
  EXPECT_EQ(k.renewed(fail(errc::io, "store down")), renewal_outcome::retry);
  EXPECT_EQ(k.current()->expires_ms, 35'000);  // kept
  // Someone else took it: the renewal is a conflict, the run must stop.
  hold_as("other:1:x");
  auto r = k.renew(*k.current(), 6'000);
  EXPECT_TRUE(r.error().is(errc::conflict));
  EXPECT_EQ(k.renewed(std::move(r)), renewal_outcome::lost);
}

}  // namespace
}  // namespace kb::pipeline::backup
