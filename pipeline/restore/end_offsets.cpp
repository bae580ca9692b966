// End offsets of many target partitions (see end_offsets.hpp).
#include "pipeline/restore/end_offsets.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "pipeline/restore/target_check.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/list_offsets.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines (as in target_check.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::restore {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<kb::result<std::map<net::topic_partition, std::int64_t>>> async_end_offsets(
    net::cluster& cluster, std::vector<net::topic_partition> todo) {
  std::map<net::topic_partition, std::int64_t> out;
  std::map<net::topic_partition, std::string> last_error;  ///< the broker's latest answer per partition
  std::vector<std::string> names;
  for (const auto& tp : todo)
    if (std::find(names.begin(), names.end(), tp.topic) == names.end()) names.push_back(tp.topic);
  for (int attempt = 0; attempt < 240 && !todo.empty(); ++attempt) {
    if (attempt > 0) {
      (void)co_await cluster.async_refresh_metadata(names);
      asio::steady_timer t(co_await asio::this_coro::executor, 250ms);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    std::map<std::int32_t, std::vector<net::topic_partition>> by_leader;
    std::vector<net::topic_partition> retry;
    for (const auto& tp : todo) {
      if (auto leader = cluster.leader(tp)) by_leader[*leader].push_back(tp);
      else retry.push_back(tp);
    }
    for (const auto& [leader, tps] : by_leader) {
      protocol::list_offsets_request req;
      for (const auto& tp : tps) {
        if (req.topics.empty() || req.topics.back().name != tp.topic) {
          protocol::list_offsets_request::topic topic;
          topic.name = tp.topic;
          req.topics.push_back(std::move(topic));
        }
        protocol::list_offsets_request::partition part;
        part.partition_index = tp.partition;
        part.timestamp = protocol::latest_timestamp;
        req.topics.back().partitions.push_back(part);
      }
      auto r = co_await cluster.async_send(leader, req);
      if (!r) co_return fail(std::move(r.error()));
      std::set<net::topic_partition> answered;
      for (const auto& t : r->topics) {
        for (const auto& p : t.partitions) {
          const net::topic_partition tp{t.name, p.partition_index};
          if (p.error_code == 0) {
            out[tp] = p.offset;
            answered.insert(tp);
          } else if (protocol::classify(p.error_code) == protocol::error_class::authorization) {
            co_return fail(errc::authorization, fmt::format("Not authorized to access topic '{}': the restore "
                                                            "principal needs Describe on it",
                                                            t.name));
          } else if (protocol::classify(p.error_code) == protocol::error_class::fatal ||
                     protocol::classify(p.error_code) == protocol::error_class::unsupported) {
            co_return fail(errc::broker, fmt::format("cannot read the end offset of {}[{}]: ListOffsets returned {}",
                                                     t.name, p.partition_index, kafka_error(p.error_code, {})));
          } else {
            last_error[tp] = kafka_error(p.error_code, {});  // retried while leaders settle
          }
        }
      }
      for (const auto& tp : tps)
        if (!answered.contains(tp)) retry.push_back(tp);
    }
    todo = std::move(retry);
  }
  if (!todo.empty()) {
    const auto why = last_error.find(todo.front());
    co_return fail(errc::timeout,
                   fmt::format("cannot read the end offset of {}[{}]{} after 60 s: {}", todo.front().topic,
                               todo.front().partition,
                               todo.size() > 1 ? fmt::format(" (and {} more)", todo.size() - 1) : std::string(),
                               why != last_error.end() ? "the broker kept answering " + why->second
                                                       : std::string("no leader answered for it; is the target cluster healthy?")));
  }
  co_return out;
}

}  // namespace kb::pipeline::restore
