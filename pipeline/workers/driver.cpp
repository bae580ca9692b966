#include "pipeline/workers/driver.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>

namespace kb::pipeline::workers {

namespace asio = boost::asio;
using clock = group_member::clock;
using namespace std::chrono_literals;

member_driver::member_driver(asio::any_io_executor ex, net::cluster& cluster, member_config cfg, member_hooks hooks)
    : ex_(std::move(ex)),
      cluster_(cluster),
      hooks_(std::move(hooks)),
      member_(std::move(cfg), clock::now()),
      wake_(ex_) {}

void member_driver::leave() {
  member_.leave(clock::now());
  wake_.notify();
}

asio::awaitable<result<void>> member_driver::async_run() {
  while (member_.state() != member_state::dead) {
    if (auto req = member_.poll(clock::now())) {
      co_await async_exchange(std::move(*req));
    } else {
      // Sleep until the member's next timer; revoke acknowledgements and leave() wake us early.
      const auto until = member_.next_deadline();
      const auto now = clock::now();
      auto wait = until == clock::time_point::max()
                      ? std::chrono::milliseconds(1'000)
                      : std::chrono::ceil<std::chrono::milliseconds>(std::max(until - now, clock::duration::zero()));
      co_await wake_.wait(std::clamp(wait, std::chrono::milliseconds(1), std::chrono::milliseconds(1'000)));
    }
    if (auto fatal = dispatch()) {
      *alive_ = false;
      co_return kb::fail(std::move(*fatal));
    }
  }
  *alive_ = false;
  co_return result<void>{};
}

std::optional<error> member_driver::dispatch() {
  for (auto& ev : member_.take_events()) {
    if (auto* f = std::get_if<fatal_event>(&ev)) return std::move(f->err);
    if (auto* a = std::get_if<assigned_event>(&ev)) {
      if (hooks_.on_assigned) hooks_.on_assigned(*a);
      continue;
    }
    auto& r = std::get<revoked_event>(ev);
    if (!hooks_.on_revoked) {
      member_.ack_revoke(clock::now());
      continue;
    }
    // Runs beside the loop so heartbeats keep the session alive while the engine seals.
    asio::co_spawn(
        ex_,
        [this, alive = alive_, r = std::move(r)]() -> asio::awaitable<void> {
          co_await hooks_.on_revoked(r);
          if (!*alive) co_return;
          member_.ack_revoke(clock::now());
          wake_.notify();
        },
        asio::detached);
  }
  return std::nullopt;
}

asio::awaitable<result<std::shared_ptr<net::connection>>> member_driver::async_coordinator_connection() {
  const std::int32_t node = member_.coordinator();
  // A coordinator the metadata does not know yet (a broker that just joined).
  if (!cluster_.brokers().contains(node)) (void)co_await cluster_.async_refresh_metadata(std::vector<std::string>{});
  auto conn = co_await cluster_.async_connection(node);
  if (!conn && conn.error().is(errc::not_found))  // gone from the metadata: look the coordinator up again
    co_return kb::fail(errc::connect, conn.error().message);
  co_return conn;
}

asio::awaitable<void> member_driver::async_exchange(member_request req) {
  const auto cfg = member_.config();
  if (auto* fc = std::get_if<protocol::find_coordinator_request>(&req)) {
    auto conn = co_await cluster_.async_any_connection();
    if (!conn) {
      member_.on_transport_error(conn.error(), clock::now());
      co_return;
    }
    auto resp = co_await (*conn)->async_request(std::move(*fc));
    if (!resp) {
      member_.on_transport_error(resp.error(), clock::now());
    } else {
      member_.on_find_coordinator(*resp, clock::now());
    }
    co_return;
  }
  auto conn = co_await async_coordinator_connection();
  if (!conn) {
    member_.on_transport_error(conn.error(), clock::now());
    co_return;
  }
  auto& c = **conn;
  const auto request_timeout = cluster_.options().connection.request_timeout;
  if (auto* join = std::get_if<protocol::join_group_request>(&req)) {
    // The broker parks a JoinGroup until the rebalance completes (up to the rebalance timeout).
    auto resp = co_await c.async_request(std::move(*join), std::max(request_timeout, cfg.rebalance_timeout + 5s));
    if (!resp) {
      member_.on_transport_error(resp.error(), clock::now());
    } else {
      member_.on_join(*resp, clock::now());
    }
  } else if (auto* sync = std::get_if<protocol::sync_group_request>(&req)) {
    auto resp = co_await c.async_request(std::move(*sync), std::max(request_timeout, cfg.rebalance_timeout + 5s));
    if (!resp) {
      member_.on_transport_error(resp.error(), clock::now());
    } else {
      member_.on_sync(*resp, clock::now());
    }
  } else if (auto* hb = std::get_if<protocol::heartbeat_request>(&req)) {
    // An answer later than the session is useless: the session check takes over.
    auto resp = co_await c.async_request(std::move(*hb), std::min(request_timeout, cfg.session_timeout));
    if (!resp) {
      member_.on_transport_error(resp.error(), clock::now());
    } else {
      member_.on_heartbeat(*resp, clock::now());
    }
  } else if (auto* lv = std::get_if<protocol::leave_group_request>(&req)) {
    auto resp = co_await c.async_request(std::move(*lv), std::min(request_timeout, 5'000ms));
    if (!resp) {
      member_.on_transport_error(resp.error(), clock::now());
    } else {
      member_.on_leave(*resp, clock::now());
    }
  }
}

}  // namespace kb::pipeline::workers
