// Creating the target topics (see topic_creation.hpp).
#include "pipeline/restore/topic_creation.hpp"

#include <chrono>
#include <string>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "pipeline/restore/target_check.hpp"
#include "protocol/error_codes.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines (as in target_check.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::restore {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using protocol::error_code;

asio::awaitable<kb::result<void>> async_create_topics(net::cluster& cluster,
                                                      const std::vector<protocol::create_topics_request::topic>& to_create) {
  if (to_create.empty()) co_return kb::result<void>{};
  protocol::create_topics_request req;
  req.topics = to_create;
  req.timeout_ms = 30000;
  auto r = co_await cluster.async_send(cluster.brokers().begin()->first, req);
  if (!r) co_return fail(std::move(r.error()));
  std::vector<std::string> names;
  for (const auto& t : r->topics) {
    names.push_back(t.name);
    if (t.error_code != 0 && t.error_code != static_cast<std::int16_t>(error_code::topic_already_exists)) {
      co_return fail(protocol::classify(t.error_code) == protocol::error_class::authorization ? errc::authorization : errc::broker,
                     fmt::format("cannot create target topic '{}': {}", t.name, kafka_error(t.error_code, t.error_message)));
    }
    kb::log::info("created target topic '{}'", t.name);
  }
  // Wait until every new partition has a leader (bounded: 60 x 500 ms).
  for (int attempt = 0; attempt < 60; ++attempt) {
    (void)co_await cluster.async_refresh_metadata(names);
    bool ready = true;
    for (const auto& t : to_create) {
      const auto* info = cluster.find_topic(t.name);
      if (info == nullptr || static_cast<std::int32_t>(info->partitions.size()) < t.num_partitions) {
        ready = false;
        break;
      }
      for (const auto& p : info->partitions) ready = ready && p.leader_id >= 0;
    }
    if (ready) co_return kb::result<void>{};
    asio::steady_timer t(co_await asio::this_coro::executor, 500ms);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return fail(errc::timeout, std::string("created target topics have no partition leaders after 30 s"));
}

}  // namespace kb::pipeline::restore
