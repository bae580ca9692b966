// The restore engine against an in-process fake target broker (fake_target.hpp) and a backup
// set written here with the storage format's builder: what happens when the target holds a
// produce response back, answers ListOffsets with an error, or refuses one partition's batches.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <random>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "pipeline/restore/restore.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/filesystem_store.hpp"
#include "storage/format/frame_filter.hpp"
#include "tests/pipeline/restore/fake_target.hpp"
#include "tests/storage/forwarding_store.hpp"

namespace kb::pipeline::restore {
namespace {

namespace sf = storage::format;
using namespace std::chrono_literals;

// Forwards to a store and records the threads that read frames (get_range).
class read_threads final : public storage::testing::forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  kb::result<byte_vector> get_range(std::string_view k, std::uint64_t o, std::uint64_t n) override {
    {
      const std::lock_guard lock(mutex_);
      threads_.insert(std::this_thread::get_id());
      ++reads_;
    }
    return forwarding_store::get_range(k, o, n);
  }

  std::set<std::thread::id> threads() const {
    const std::lock_guard lock(mutex_);
    return threads_;
  }
  int reads() const {
    const std::lock_guard lock(mutex_);
    return reads_;
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::thread::id> threads_;
  int reads_ = 0;
};

class engine_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kb-engine-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_ / "store");
  }
  void TearDown() override {
    if (target_) {
      boost::asio::post(fio_, [this] { target_->stop(); });
    }
    fio_.stop();
    if (fthread_.joinable()) fthread_.join();
    std::filesystem::remove_all(dir_);
  }

  void put_json(const std::string& key, const std::string& text) { ASSERT_TRUE(store_->put(key, as_bytes(text))); }

  // A backup set "bk" of one topic; each partition holds `records` plain records in one frame.
  void backup(const std::string& topic, int partitions, int records) {
    sf::backup_manifest m;
    m.backup_id = "bk";
    m.source_cluster_id = "cluster-1";
    m.mode = "snapshot";
    m.compression = "none";
    m.tool_version = "test";
    m.topics.push_back(topic);
    sf::topic_manifest tm;
    tm.name = topic;
    tm.partition_count = partitions;
    put_json(sf::backup_paths{"bk"}.topic_manifest(topic), sf::to_json(tm));
    put_json(sf::backup_paths{"bk"}.backup_manifest(), sf::to_json(m));
    const std::int64_t ts = 1'700'000'000'000;
    for (int p = 0; p < partitions; ++p) {
      sf::segment_builder::options o;
      o.header.topic = topic;
      o.header.partition = p;
      o.header.codec = sf::frame_codec::none;
      sf::segment_builder b(o);
      std::vector<sf::segment_builder::raw_frame> frames;
      protocol::batch_options bo;
      bo.base_offset = 0;
      protocol::record_batch_builder rb(bo);
      for (int i = 0; i < records; ++i) rb.add(ts + i, std::nullopt, as_bytes(std::string("v")));
      const byte_vector bytes = rb.build().value();
      sf::batch_entry e;
      e.first_offset = 0;
      e.last_offset = records - 1;
      e.record_count = records;
      e.first_timestamp = ts;
      e.max_timestamp = ts + records - 1;
      if (auto f = b.append(bytes, e)) frames.push_back(std::move(*f));
      if (auto f = b.seal_frame()) frames.push_back(std::move(*f));
      std::vector<byte_vector> raw(frames.size());
      for (auto& f : frames) raw[f.frame] = sf::encode_frame(sf::frame_codec::none, 0, f.raw, sf::no_frame_filter).value();
      auto seg = std::move(b).finish(std::move(raw));
      ASSERT_TRUE(seg) << seg.error().message;
      ASSERT_TRUE(store_->put(sf::backup_paths{"bk"}.segment(topic, p, 0, records - 1), *seg));
    }
  }

  void start_target(testing::fake_target_behavior b) {
    target_ = std::make_unique<testing::fake_target>(fio_, std::move(b));
    fthread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(fio_);
      fio_.run();
    });
  }

  restore_options options(std::uint32_t connections_per_broker) {
    restore_options o;
    o.plan.backup_id = "bk";
    o.target.bootstrap_servers = {"127.0.0.1:" + std::to_string(target_->port())};
    o.target.connections_per_broker = connections_per_broker;
    o.create_topics = false;
    o.checkpoint_state = (dir_ / "state.json").string();
    return o;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
  boost::asio::io_context fio_;
  std::unique_ptr<testing::fake_target> target_;
  std::thread fthread_;
};

// issue #11 item 14: the end of a run once stopped waiting for a held produce response after 60 s
// and left the send writing into the dispatcher's freed frame (ASan: heap-use-after-free).
TEST_F(engine_test, a_produce_response_held_past_the_drain_bound_fails_the_run_naming_it) {
  backup("t", 2, 10);
  testing::fake_target_behavior b;
  b.topics = {{"t", 2}};
  // Partition 0's request is never answered; partition 1 is refused, which ends the run while
  // partition 0's request is still in flight (each goes on its own connection). Partition 1 is
  // told NOT_LEADER_OR_FOLLOWER (retried) until partition 0's request is held, so a slow read of
  // partition 0 on a loaded machine cannot end the run before its request went out.
  auto held = std::make_shared<std::atomic<bool>>(false);
  b.produce_error = [held](const std::string&, std::int32_t p) -> std::int16_t {
    if (p == 0) {
      held->store(true);
      return testing::hold;
    }
    return held->load() ? std::int16_t{29} : std::int16_t{6};
  };
  start_target(std::move(b));
  auto o = options(2);
  // The request itself would wait two minutes: longer than the old fixed 60 s bound.
  o.target.connection.request_timeout = 120s;
  o.in_flight_drain = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = run_restore(*store_, o);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::authorization)) << r.error().message;
  EXPECT_NE(r.error().message.find("Not authorized to access topic 't'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("1 produce request(s) were still unanswered after 300 ms"), std::string::npos)
      << r.error().message;
  EXPECT_GE(target_->held(), 1);
  EXPECT_LT(took, 15s);
}

// issue #12 item 9: a ListOffsets error other than authorization was retried for 60 s and then
// reported as a plain timeout; a fatal one now fails at once and names the broker's error.
TEST_F(engine_test, a_list_offsets_error_is_named) {
  backup("t", 1, 5);
  testing::fake_target_behavior b;
  b.topics = {{"t", 1}};
  b.list_offsets_error = [](const std::string&, std::int32_t) -> std::int16_t { return 42; };  // INVALID_REQUEST
  start_target(std::move(b));
  const auto start = std::chrono::steady_clock::now();
  auto r = run_restore(*store_, options(1));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::broker)) << r.error().message;
  EXPECT_NE(r.error().message.find("cannot read the end offsets of the target partitions: topic 't': broker error "
                                   "INVALID_REQUEST"),
            std::string::npos)
      << r.error().message;
  EXPECT_LT(took, 15s);
  EXPECT_EQ(target_->produce_requests(), 0);
}

// issue #12 item 9: "failed 12 times; last error" named whichever partition failed last in the
// whole engine; each partition now names its own error. Both partitions share one connection,
// so both ride in every request and partition 1's error is always noted after partition 0's.
TEST_F(engine_test, a_partition_that_keeps_failing_names_its_own_last_error) {
  backup("t", 2, 5);
  testing::fake_target_behavior b;
  b.topics = {{"t", 2}};
  b.produce_error = [](const std::string&, std::int32_t p) -> std::int16_t {
    return p == 0 ? 19 : 7;  // NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT: both retried
  };
  start_target(std::move(b));
  auto r = run_restore(*store_, options(1));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::broker)) << r.error().message;
  const auto& m = r.error().message;
  const bool p0 = m.find("producing to t[0] failed 12 times in a row; last error: NOT_ENOUGH_REPLICAS") != std::string::npos;
  const bool p1 = m.find("producing to t[1] failed 12 times in a row; last error: REQUEST_TIMED_OUT") != std::string::npos;
  EXPECT_TRUE(p0 || p1) << m;
}

// issue #13 item 2: the engine's io thread (the caller's) only drives the network; every frame
// is read on the engine's worker_pool (planning, before the engine starts, reads on the caller's).
TEST_F(engine_test, frames_are_read_on_the_pool_never_on_the_io_thread) {
  backup("t", 3, 20);
  testing::fake_target_behavior b;
  b.topics = {{"t", 3}};
  start_target(std::move(b));
  const auto o = options(1);
  auto plan = build_plan(*store_, o.plan);  // planning reads segment indexes on the caller's thread
  ASSERT_TRUE(plan) << plan.error().message;
  read_threads store(*store_);
  auto r = run_restore(store, o, std::move(*plan));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->records, 60u);
  EXPECT_GE(store.reads(), 3);  // at least one frame per partition
  const auto threads = store.threads();
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u) << "a frame was read on the io thread";
  EXPECT_LE(threads.size(), 2u);  // the engine's two pool threads
}

}  // namespace
}  // namespace kb::pipeline::restore
