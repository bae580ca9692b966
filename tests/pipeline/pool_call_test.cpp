// pool_call: the blocking call runs on a pool thread, its result arrives on the io thread.
#include "pipeline/pool_call.hpp"

#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
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

}  // namespace
}  // namespace kb::pipeline
