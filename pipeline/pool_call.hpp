// pipeline/pool_call: a blocking call run on a worker_pool with its result handed back on the io thread —
// to a completion handler (call_on_pool) or to the awaiting coroutine (async_call_on_pool).
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pipeline/worker_pool.hpp"

namespace kb::pipeline {

/// Runs `fn` on `pool`; `done(result)` then runs on `io`'s thread. Both are copied into
/// std::function tasks, so they must be copyable.
template <class Fn, class Done>
void call_on_pool(worker_pool& pool, boost::asio::io_context& io, Fn fn, Done done) {
  pool.submit([&io, fn = std::move(fn), done = std::move(done)]() mutable {
    auto r = fn();
    boost::asio::post(io, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  });
}

/// Awaits `fn()` run on `pool` while the io thread goes on serving everything else (metrics,
/// signals). The coroutine must run on `io`.
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&>> async_call_on_pool(worker_pool& pool, boost::asio::io_context& io,
                                                                     Fn fn) {
  using R = std::invoke_result_t<Fn&>;
  std::optional<R> done;
  boost::asio::steady_timer ready(io, std::chrono::steady_clock::time_point::max());
  call_on_pool(pool, io, std::move(fn), [&done, &ready](R r) {
    done = std::move(r);
    ready.cancel();
  });
  while (!done) {  // the posted completion ends the wait
    boost::system::error_code ec;
    co_await ready.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  co_return std::move(*done);
}

}  // namespace kb::pipeline
