// pipeline/pool_call: a blocking call run on a worker_pool with its result handed back on the io thread —
// to a completion handler (call_on_pool) or to the awaiting coroutine (async_call_on_pool). Both
// engines keep their blocking work (storage calls, compression, frame reads) off the io thread this way.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pipeline/worker_pool.hpp"

namespace kb::pipeline {

/// Runs `fn` on `pool`; `done(result)` then runs on `io`'s thread. Both are copied into
/// std::function tasks, so they must be copyable; the result is moved, never copied. Calls on a
/// pool of several threads complete in any order: whoever needs an order waits for one call
/// before making the next.
template <class Fn, class Done>
void call_on_pool(worker_pool& pool, boost::asio::io_context& io, Fn fn, Done done) {
  pool.submit([&io, fn = std::move(fn), done = std::move(done)]() mutable {
    auto r = fn();
    boost::asio::post(io, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  });
}

/// Awaits `fn()` run on `pool` while the io thread goes on serving everything else (metrics,
/// signals, other coroutines); the coroutine resumes on `io`'s thread. Not a coroutine itself:
/// g++ 12 destroyed by-value lambda captures moved through a coroutine frame twice. Callers pass
/// named lambdas for the same reason (g++ 12 destroys lambda temporaries inside co_await
/// expressions twice).
template <class Fn>
auto async_call_on_pool(worker_pool& pool, boost::asio::io_context& io, Fn fn) {
  using R = std::invoke_result_t<Fn&>;
  return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(R)>(
      [&pool, &io](auto handler, Fn f) {
        // The coroutine's handler is move-only and pool tasks are std::function (copyable): it
        // is shared by the task and invoked once, on the io thread.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        call_on_pool(pool, io, std::move(f), [h](R r) { std::move(*h)(std::move(r)); });
      },
      boost::asio::use_awaitable, std::move(fn));
}

}  // namespace kb::pipeline
