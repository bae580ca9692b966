#include "pipeline/wake_signal.hpp"

#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace kb::pipeline {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs `body` as a coroutine on a fresh io_context; the context's run() returns when it ends.
template <class Body>
void run_coroutine(Body body) {
  asio::io_context io;
  asio::co_spawn(io, body(io), asio::detached);
  io.run();
}

TEST(wake_signal, notify_before_wait_is_not_lost) {
  // With a dropped notification the wait below would sleep an hour and the test would time out.
  bool returned = false;
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    wake_signal s(io.get_executor());
    s.notify();
    co_await s.wait(1h);
    returned = true;
  });
  EXPECT_TRUE(returned);
}

TEST(wake_signal, notify_wakes_a_waiter_and_is_consumed_once) {
  int wakes = 0;
  bool timed_out_second = false;
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    wake_signal s(io.get_executor());
    asio::post(io, [&] { s.notify(); });  // runs while the wait below is suspended
    co_await s.wait(1h);
    ++wakes;
    // The notification was used up: this wait runs into its (short) timeout.
    const auto before = std::chrono::steady_clock::now();
    co_await s.wait(20ms);
    timed_out_second = std::chrono::steady_clock::now() - before >= 20ms;
  });
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(timed_out_second);
}

TEST(wake_signal, several_notifies_collapse_into_one) {
  bool timed_out = false;
  run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
    wake_signal s(io.get_executor());
    s.notify();
    s.notify();
    co_await s.wait(1h);
    const auto before = std::chrono::steady_clock::now();
    co_await s.wait(20ms);
    timed_out = std::chrono::steady_clock::now() - before >= 20ms;
  });
  EXPECT_TRUE(timed_out);
}

}  // namespace
}  // namespace kb::pipeline
