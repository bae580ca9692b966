// A wake-up signal for coroutines on one executor: wait() returns after notify() or a timeout,
// and a notify() that finds nobody waiting is kept for the next wait().
#pragma once

#include <chrono>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kb::pipeline {

/// Not thread-safe: notify and wait on the executor's thread. Meant for one waiter: a second
/// wait() re-arms the timer and so returns the first one early (callers re-check and wait again).
class wake_signal {
 public:
  explicit wake_signal(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {}

  void notify() {
    // Kept when nobody waits: a dropped notify once left the restore's dispatcher asleep for
    // its whole timeout (1 s) after the last acknowledgement.
    notified_ = true;
    timer_.cancel();
  }

  boost::asio::awaitable<void> wait(std::chrono::milliseconds limit) {
    if (std::exchange(notified_, false)) co_return;
    timer_.expires_after(limit);
    boost::system::error_code ec;  // operation_aborted is the notify
    co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    notified_ = false;
  }

 private:
  boost::asio::steady_timer timer_;
  bool notified_ = false;
};

}  // namespace kb::pipeline
