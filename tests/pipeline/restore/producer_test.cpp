// The restore's produce side (pipeline/restore/producer.hpp) against the in-process fake target
// (fake_target.hpp), no broker: batches queued on lanes go out with our idempotent producer,
// acknowledged offsets land in the state and the offset map, a refused partition stops the run
// with the topic named, and the rate limit paces the sends.
#include <chrono>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "pipeline/restore/producer.hpp"
#include "protocol/records/record_batch.hpp"
#include "tests/pipeline/restore/fake_target.hpp"

namespace kb::pipeline::restore {
namespace {

using namespace std::chrono_literals;

output_batch make_batch(std::int64_t first, std::int32_t n) {
  protocol::record_batch_builder b;
  for (std::int32_t i = 0; i < n; ++i) b.add(1'700'000'000'000 + i, std::nullopt, as_bytes(std::string("value")));
  auto built = b.build().value();
  output_batch ob;
  ob.size = built.size();
  ob.storage = std::make_shared<byte_vector>(std::move(built));
  ob.record_count = n;
  ob.sources = {{first, n}};
  return ob;
}

class producer_test : public ::testing::Test {
 protected:
  void TearDown() override {
    if (target_) boost::asio::post(fio_, [this] { target_->stop(); });
    fio_.stop();
    if (fthread_.joinable()) fthread_.join();
  }

  void start_target(testing::fake_target_behavior b) {
    target_ = std::make_unique<testing::fake_target>(fio_, std::move(b));
    fthread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(fio_);
      fio_.run();
    });
    o_.target.bootstrap_servers = {"127.0.0.1:" + std::to_string(target_->port())};
    o_.target.connections_per_broker = 1;
  }

  // Two direct partitions of topic "t" (state 0 -> t[0], state 1 -> t[1]); `batches` batches of
  // 10 records each are queued on each, then the producer runs to the end.
  void produce(int batches) {
    for (std::int32_t p = 0; p < 2; ++p) {
      partition_state s{"src", p, "t", p, 0, -1, 0, 0, false, {}, {}};
      run_.state.partitions.push_back(s);
    }
    auto cluster = net::cluster::create(io_.get_executor(), o_.target);
    producer prod(io_, *cluster, o_, run_, {"t"});
    std::optional<kb::result<void>> init;
    boost::asio::co_spawn(io_, [&]() -> boost::asio::awaitable<void> {
      if (auto r = co_await cluster->async_bootstrap(); !r) {
        init = fail(std::move(r.error()));
        co_return;
      }
      init = co_await prod.async_init();
      if (!*init) co_return;
      for (std::int32_t p = 0; p < 2; ++p) {
        auto& e = prod.lane_for("t", p);
        e.l.set_target_next(0);
        for (int b = 0; b < batches; ++b) {
          auto r = co_await prod.async_enqueue(e, make_batch(b * 10, 10), static_cast<std::size_t>(p));
          EXPECT_TRUE(r);
        }
      }
      dispatch_hooks hooks;
      hooks.settle_done = [] {};
      hooks.input_done = [] { return true; };
      hooks.progress = [] {};
      co_await prod.async_run(std::move(hooks));
      retries_ = prod.retries();
      cluster->close();
    }, boost::asio::detached);
    io_.run_for(60s);
    ASSERT_TRUE(init) << "the producer did not start";
    ASSERT_TRUE(*init) << init->error().message;
  }

  boost::asio::io_context fio_;
  std::unique_ptr<testing::fake_target> target_;
  std::thread fthread_;
  boost::asio::io_context io_;
  restore_options o_;
  restore_run run_;
  std::uint64_t retries_ = 0;
};

TEST_F(producer_test, acknowledged_batches_land_in_the_state_and_the_offset_map) {
  testing::fake_target_behavior b;
  b.topics = {{"t", 2}};
  start_target(std::move(b));
  produce(5);
  EXPECT_FALSE(run_.fatal) << run_.fatal->message;
  for (const auto& s : run_.state.partitions) {
    EXPECT_EQ(s.records, 50u);
    EXPECT_EQ(s.target_end, 50);
    EXPECT_EQ(s.next_source_offset, 50);
    EXPECT_EQ(s.map.translate(37), 37);
  }
  EXPECT_EQ(run_.summary.records, 100u);
  EXPECT_TRUE(run_.dirty);
  EXPECT_GE(target_->produce_requests(), 2);
  EXPECT_EQ(retries_, 0u);
}

TEST_F(producer_test, a_refused_partition_stops_the_run_naming_the_topic) {
  testing::fake_target_behavior b;
  b.topics = {{"t", 2}};
  b.produce_error = [](const std::string&, std::int32_t p) -> std::int16_t { return p == 1 ? 29 : 0; };
  start_target(std::move(b));
  produce(1);
  ASSERT_TRUE(run_.fatal);
  EXPECT_TRUE(run_.fatal->is(errc::authorization)) << run_.fatal->message;
  EXPECT_NE(run_.fatal->message.find("Not authorized to access topic 't'"), std::string::npos);
  EXPECT_EQ(run_.state.partitions[1].records, 0u);
}

TEST_F(producer_test, a_retriable_error_is_resent_and_counted) {
  testing::fake_target_behavior b;
  b.topics = {{"t", 2}};
  auto calls = std::make_shared<std::atomic<int>>(0);
  // The first produce to t[0] is told NOT_LEADER_OR_FOLLOWER; the resend goes through.
  b.produce_error = [calls](const std::string&, std::int32_t p) -> std::int16_t {
    return p == 0 && calls->fetch_add(1) == 0 ? 6 : 0;
  };
  start_target(std::move(b));
  produce(2);
  EXPECT_FALSE(run_.fatal) << run_.fatal->message;
  EXPECT_EQ(run_.state.partitions[0].records, 20u);
  EXPECT_EQ(run_.state.partitions[0].target_end, 20);
  EXPECT_GE(retries_, 1u);
}

TEST_F(producer_test, the_rate_limit_paces_the_sends) {
  testing::fake_target_behavior b;
  b.topics = {{"t", 2}};
  start_target(std::move(b));
  o_.rate_limit_records_per_sec = 40;  // 80 records: the second 40 wait a second past the burst
  const auto start = std::chrono::steady_clock::now();
  produce(4);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(run_.fatal) << run_.fatal->message;
  EXPECT_EQ(run_.summary.records, 80u);
  EXPECT_GE(took, 800ms) << "the records past the burst wait for the clock";
  EXPECT_LT(took, 10s);
  // A round the rate limit stops sends nothing (it used to send an empty Produce request each time).
  EXPECT_EQ(target_->empty_produce_requests(), 0);
}

}  // namespace
}  // namespace kb::pipeline::restore
