#include "pipeline/kafka_admin.hpp"

#include <algorithm>
#include <set>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "protocol/error_codes.hpp"

namespace kb::pipeline {

namespace asio = boost::asio;

admin_action classify_admin_error(std::int16_t error_code) noexcept {
  switch (protocol::classify(error_code)) {
    case protocol::error_class::none: return admin_action::ok;
    case protocol::error_class::retriable:
    case protocol::error_class::refresh_metadata:
    case protocol::error_class::find_coordinator: return admin_action::retry;
    case protocol::error_class::authorization: return admin_action::fail_authorization;
    case protocol::error_class::authentication:
    case protocol::error_class::offset_out_of_range:
    case protocol::error_class::rejoin_group:  // an admin call has no membership to renew
    case protocol::error_class::unsupported:
    case protocol::error_class::fatal: return admin_action::fail;
  }
  return admin_action::fail;
}

std::string principal_hint(const net::connection_options& c) {
  if (net::uses_sasl(c.protocol) && !c.sasl.username.empty()) return fmt::format("User:{}", c.sasl.username);
  return {};
}

bool is_retriable_transport(const error& e) noexcept { return e.is(errc::connect) || e.is(errc::timeout); }

std::chrono::milliseconds admin_retry::delay(int attempt) const noexcept {
  if (attempt <= 0) return std::chrono::milliseconds{0};
  if (!exponential) return backoff;
  const auto grown = backoff * (std::int64_t{1} << std::min(attempt, 20));
  return std::min<std::chrono::milliseconds>(grown, backoff_max);
}

protocol::list_offsets_request make_list_offsets_request(const std::vector<net::topic_partition>& tps,
                                                         std::int64_t timestamp) {
  protocol::list_offsets_request req;
  for (const auto& tp : tps) {
    if (req.topics.empty() || req.topics.back().name != tp.topic) req.topics.push_back({tp.topic, {}});
    req.topics.back().partitions.push_back({tp.partition, -1, timestamp});
  }
  return req;
}

result<void> absorb_list_offsets(const protocol::list_offsets_response& resp,
                                 const std::vector<net::topic_partition>& asked, std::string_view principal_hint,
                                 offset_map& out, std::vector<net::topic_partition>& retry, std::string& last_answer) {
  std::set<net::topic_partition> answered;
  for (const auto& t : resp.topics) {
    for (const auto& p : t.partitions) {
      const net::topic_partition tp{t.name, p.partition_index};
      if (std::find(asked.begin(), asked.end(), tp) == asked.end()) continue;  // not ours to take
      answered.insert(tp);
      switch (classify_admin_error(p.error_code)) {
        case admin_action::ok: out[tp] = p.offset; break;
        case admin_action::retry:
          retry.push_back(tp);
          last_answer = std::string(protocol::name(static_cast<protocol::error_code>(p.error_code)));
          break;
        case admin_action::fail_authorization:
        case admin_action::fail: return fail(net::topic_error(p.error_code, t.name, principal_hint));
      }
    }
  }
  for (const auto& tp : asked) {
    if (answered.contains(tp)) continue;
    retry.push_back(tp);
    last_answer = "no answer for the partition";
  }
  return {};
}

coordinator_answer read_coordinator(const protocol::find_coordinator_response& resp) {
  if (!resp.coordinators.empty()) {
    const auto& c = resp.coordinators.front();
    return {c.node_id, c.error_code, c.error_message};
  }
  return {resp.node_id, resp.error_code, resp.error_message};
}

protocol::find_coordinator_request make_find_coordinator_request(const std::string& group) {
  protocol::find_coordinator_request fc;
  fc.key_value = group;
  fc.key_type = 0;  // a consumer group
  fc.coordinator_keys = {group};
  return fc;
}

asio::awaitable<void> kafka_admin::async_sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<result<offset_map>> kafka_admin::async_list_offsets(std::vector<net::topic_partition> todo,
                                                                    std::int64_t timestamp) {
  offset_map out;
  std::string last_answer = "no leader known";
  for (int attempt = 0; !todo.empty(); ++attempt) {
    if (attempt >= retry_.max_attempts) {
      co_return fail(errc::broker,
                     fmt::format("ListOffsets for {} partition(s) (e.g. {}-{}) kept failing (last answer: {}); check "
                                 "the brokers' health",
                                 todo.size(), todo.front().topic, todo.front().partition, last_answer));
    }
    if (attempt > 0) {
      co_await async_sleep(retry_.delay(attempt));
      std::vector<std::string> names;
      for (const auto& tp : todo)
        if (std::find(names.begin(), names.end(), tp.topic) == names.end()) names.push_back(tp.topic);
      if (auto r = co_await cluster_.async_refresh_metadata(names); !r) {
        if (!is_retriable_transport(r.error())) co_return fail(std::move(r.error()));
        last_answer = r.error().message;  // the brokers may come back: another round
      }
    }
    std::vector<net::topic_partition> retry;
    auto groups = cluster_.group_by_leader(todo, &retry);
    for (const auto& [leader, list] : groups) {
      auto resp = co_await cluster_.async_send(leader, make_list_offsets_request(list, timestamp));
      if (!resp) {
        if (!is_retriable_transport(resp.error())) co_return fail(std::move(resp.error()));
        last_answer = resp.error().message;
        retry.insert(retry.end(), list.begin(), list.end());
        continue;
      }
      if (auto r = absorb_list_offsets(*resp, list, principal_hint_, out, retry, last_answer); !r)
        co_return fail(std::move(r.error()));
    }
    todo = std::move(retry);
  }
  co_return out;
}

asio::awaitable<result<coordinator_answer>> kafka_admin::async_find_coordinator_once(const std::string& group) {
  auto conn = co_await cluster_.async_any_connection();
  if (!conn) co_return fail(std::move(conn.error()));
  auto resp = co_await (*conn)->async_request(make_find_coordinator_request(group));
  if (!resp) co_return fail(std::move(resp.error()));
  co_return read_coordinator(*resp);
}

asio::awaitable<result<std::int32_t>> kafka_admin::async_find_coordinator(const std::string& group) {
  std::string last = "no attempt";
  for (int attempt = 0; attempt < retry_.max_attempts; ++attempt) {
    if (attempt > 0) co_await async_sleep(retry_.delay(attempt));
    auto answer = co_await async_find_coordinator_once(group);
    if (!answer) {
      if (!is_retriable_transport(answer.error())) co_return fail(std::move(answer.error()));
      last = answer.error().message;
      continue;
    }
    switch (classify_admin_error(answer->error_code)) {
      case admin_action::ok:
        if (answer->node < 0) {
          last = "no coordinator named";
          continue;
        }
        // A coordinator the metadata does not know yet (a broker that just joined).
        if (!cluster_.brokers().contains(answer->node))
          (void)co_await cluster_.async_refresh_metadata(std::vector<std::string>{});
        co_return answer->node;
      case admin_action::retry:
        last = std::string(protocol::name(static_cast<protocol::error_code>(answer->error_code)));
        continue;
      case admin_action::fail_authorization:
      case admin_action::fail: co_return fail(net::group_error(answer->error_code, group, principal_hint_));
    }
  }
  co_return fail(errc::timeout, fmt::format("no coordinator found for group '{}' after {} attempts (last answer: {})",
                                            group, retry_.max_attempts, last));
}

}  // namespace kb::pipeline
