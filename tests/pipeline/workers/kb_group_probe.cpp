// Test driver for tests/pipeline/workers/test_group_member.py: one scale-out group member over
// PLAINTEXT. It joins --group with the partitions of --topic as the work, prints every event as
// one JSON line ({"event": "assigned"|"revoked"|"left"|"error", ...}) and leaves the group on
// SIGTERM / SIGINT. Not part of the product.
#include <csignal>
#include <iostream>
#include <map>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "net/cluster.hpp"
#include "pipeline/workers/driver.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace kb;
using namespace kb::pipeline::workers;
using namespace std::chrono_literals;

namespace {

void emit(json::object o) { std::cout << json::serialize(o) << std::endl; }

json::array parts_json(const std::vector<topic_partition>& parts) {
  json::array a;
  for (const auto& tp : parts) a.push_back(json::array{json::value(tp.topic), json::value(tp.partition)});
  return a;
}

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[std::string(argv[i]).substr(2)] = argv[i + 1];
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  auto a = parse(argc, argv);
  for (const char* k : {"bootstrap", "group", "topic"})
    if (!a.contains(k)) {
      std::cerr << "usage: kb_group_probe --bootstrap H:P --group G --topic T [--session-ms N] "
                   "[--rebalance-ms N] [--heartbeat-ms N] [--instance-id ID] [--revoke-delay-ms N]\n";
      return 2;
    }
  asio::io_context io;
  net::cluster_options co;
  for (std::size_t start = 0; start <= a["bootstrap"].size();) {  // "h:p,h:p"
    const auto comma = a["bootstrap"].find(',', start);
    const auto end = comma == std::string::npos ? a["bootstrap"].size() : comma;
    if (end > start) co.bootstrap_servers.push_back(a["bootstrap"].substr(start, end - start));
    start = end + 1;
  }
  co.connection.client_id = "kb-group-probe";
  auto cluster = net::cluster::create(io.get_executor(), co);

  member_config cfg;
  cfg.group_id = a["group"];
  if (a.contains("instance-id")) cfg.instance_id = a["instance-id"];
  if (a.contains("session-ms")) cfg.session_timeout = std::chrono::milliseconds(std::stoi(a["session-ms"]));
  if (a.contains("rebalance-ms")) cfg.rebalance_timeout = std::chrono::milliseconds(std::stoi(a["rebalance-ms"]));
  if (a.contains("heartbeat-ms")) cfg.heartbeat_interval = std::chrono::milliseconds(std::stoi(a["heartbeat-ms"]));
  const auto revoke_delay = std::chrono::milliseconds(a.contains("revoke-delay-ms") ? std::stoi(a["revoke-delay-ms"]) : 0);

  std::unique_ptr<member_driver> driver;
  member_hooks hooks;
  hooks.on_assigned = [&](const assigned_event& ev) {
    emit({{"event", "assigned"},
          {"member", driver->member().member_id()},
          {"generation", ev.generation},
          {"leader", driver->member().is_leader()},
          {"partitions", parts_json(ev.partitions)}});
  };
  hooks.on_revoked = [&](revoked_event ev) -> asio::awaitable<void> {
    emit({{"event", "revoked"}, {"lost", ev.lost}, {"partitions", parts_json(ev.partitions)}});
    if (revoke_delay.count() > 0) {  // stands in for the engine sealing and committing
      asio::steady_timer t(io, revoke_delay);
      co_await t.async_wait(asio::use_awaitable);
    }
  };
  driver = std::make_unique<member_driver>(io.get_executor(), *cluster, cfg, hooks);

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) driver->leave();
  });
  int rc = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto boot = co_await cluster->async_bootstrap();
        if (!boot) {
          emit({{"event", "error"}, {"message", boot.error().message}});
          rc = 1;
          co_return;
        }
        const auto* topic = cluster->find_topic(a["topic"]);
        std::vector<work_item> work;
        if (topic != nullptr)
          for (const auto& p : topic->partitions) work.push_back({{a["topic"], p.partition}, 1});
        driver->set_work(std::move(work));
        auto r = co_await driver->async_run();
        if (!r) {
          emit({{"event", "error"}, {"message", r.error().message}});
          rc = 1;
        } else {
          emit({{"event", "left"}});
        }
        signals.cancel();
        cluster->close();
      },
      [&](std::exception_ptr e) {
        if (e) {
          emit({{"event", "error"}, {"message", "the member coroutine threw"}});
          rc = 1;
        }
      });
  io.run();
  return rc;
}
