// Runs a function on a thread pool and resumes the awaiting coroutine on the io_context's thread
// with its result: how restore keeps storage reads and batch rewriting off the engine thread.
#pragma once

#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kb::pipeline::restore {

/// Not a coroutine itself: g++ 12 mishandles lambdas moved through coroutine frames. Callers pass
/// named lambdas (g++ 12 destroys lambda temporaries inside co_await expressions twice).
template <class F>
auto async_on_pool(boost::asio::thread_pool& pool, boost::asio::io_context& io, F f) {
  using R = decltype(f());
  return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(R)>(
      [&pool, &io](auto handler, F fn) {
        boost::asio::post(pool, [&io, handler = std::move(handler), fn = std::move(fn)]() mutable {
          R r = fn();
          boost::asio::post(io, [handler = std::move(handler), r = std::move(r)]() mutable {
            std::move(handler)(std::move(r));
          });
        });
      },
      boost::asio::use_awaitable, std::move(f));
}

}  // namespace kb::pipeline::restore
