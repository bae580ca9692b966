// pool_call: the blocking call runs on a pool thread, its result arrives on the io thread.
#include "pipeline/pool_call.hpp"

#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

namespace kb::pipeline {
namespace {

TEST(pool_call, the_result_comes_back_on_the_io_thread) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);  // run_for waits for the pool's post
  worker_pool pool(1);
  std::thread::id worker, completion;
  std::optional<int> got;
  call_on_pool(
      pool, io,
      [&worker] {
        worker = std::this_thread::get_id();
        return 41;
      },
      [&](int v) {
        completion = std::this_thread::get_id();
        got = v + 1;
      });
  for (int i = 0; i < 500 && !got; ++i) io.run_for(std::chrono::milliseconds(10));
  ASSERT_EQ(got, 42);
  EXPECT_NE(worker, std::this_thread::get_id());
  EXPECT_EQ(completion, std::this_thread::get_id());
  pool.shutdown();
}

TEST(pool_call, a_coroutine_awaits_the_call_while_io_serves_others) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);  // run_for waits for the pool's post
  worker_pool pool(1);
  std::optional<std::string> got;
  int served = 0;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        got = co_await async_call_on_pool(pool, io, [] {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          return std::string("done");
        });
      },
      boost::asio::detached);
  boost::asio::steady_timer other(io, std::chrono::milliseconds(1));
  other.async_wait([&](const boost::system::error_code&) { ++served; });
  for (int i = 0; i < 500 && !got; ++i) io.run_for(std::chrono::milliseconds(10));
  EXPECT_EQ(got, "done");
  EXPECT_EQ(served, 1);  // the io thread was not blocked by the call
  pool.shutdown();
}

// What the restore relies on: on a pool of several threads, calls complete in any order, and
// each awaiting coroutine gets its own result. A reader keeps its partition's order by having one
// call in flight at a time, not from the pool. Here call 0 blocks until the last call has run.
TEST(pool_call, calls_complete_out_of_order_each_to_its_own_coroutine) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  worker_pool pool(2);
  constexpr int calls = 6;
  std::promise<void> last_ran;
  auto last = last_ran.get_future().share();
  std::vector<int> completed;
  std::vector<std::optional<int>> got(calls);
  for (int i = 0; i < calls; ++i) {
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          auto call = [&last_ran, last, i] {
            if (i == 0 && last.wait_for(std::chrono::seconds(20)) != std::future_status::ready) return -1;
            if (i == calls - 1) last_ran.set_value();
            return i * 10;
          };
          got[i] = co_await async_call_on_pool(pool, io, std::move(call));
          completed.push_back(i);
        },
        boost::asio::detached);
  }
  for (int i = 0; i < 2000 && completed.size() < calls; ++i) io.run_for(std::chrono::milliseconds(10));
  ASSERT_EQ(completed.size(), std::size_t{calls});
  for (int i = 0; i < calls; ++i) EXPECT_EQ(got[i], i * 10) << "call " << i;
  // The other thread posts calls 1..4 before running the last one, which frees call 0: those four
  // complete first, in order; call 0 and the last race for the final two places.
  EXPECT_EQ(std::vector<int>(completed.begin(), completed.begin() + calls - 2), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_TRUE(completed[calls - 2] == 0 || completed[calls - 1] == 0);
  pool.shutdown();
}

// A frame's batches are handed from the pool thread to the io thread: moved, never copied.
struct copy_counted {
  explicit copy_counted(std::shared_ptr<int> c) : copies(std::move(c)) {}
  copy_counted(const copy_counted& o) : copies(o.copies) { ++*copies; }
  copy_counted(copy_counted&&) noexcept = default;
  copy_counted& operator=(const copy_counted& o) {
    copies = o.copies;
    ++*copies;
    return *this;
  }
  copy_counted& operator=(copy_counted&&) noexcept = default;
  ~copy_counted() = default;
  std::shared_ptr<int> copies;
};

TEST(pool_call, the_result_is_moved_to_the_coroutine_not_copied) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  worker_pool pool(1);
  auto copies = std::make_shared<int>(0);
  std::optional<std::thread::id> resumed_on;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto make = [copies] { return copy_counted(copies); };
        copy_counted r = co_await async_call_on_pool(pool, io, std::move(make));
        EXPECT_EQ(r.copies, copies);
        resumed_on = std::this_thread::get_id();
      },
      boost::asio::detached);
  for (int i = 0; i < 500 && !resumed_on; ++i) io.run_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(resumed_on);
  EXPECT_EQ(*resumed_on, std::this_thread::get_id());  // the coroutine resumed on the io thread
  EXPECT_EQ(*copies, 0);
  pool.shutdown();
}

// The restore engine's last state save is queued when the io thread stops: shutdown runs it.
TEST(pool_call, shutdown_runs_a_queued_call_and_posts_its_result) {
  boost::asio::io_context io;
  worker_pool pool(1);
  std::optional<int> got;
  call_on_pool(pool, io, [] { return 7; }, [&got](int v) { got = v; });
  pool.shutdown();
  io.poll();  // the result was posted before shutdown returned
  EXPECT_EQ(got, 7);
}

}  // namespace
}  // namespace kb::pipeline
