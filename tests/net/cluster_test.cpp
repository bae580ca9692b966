#include "net/cluster.hpp"

#include <gtest/gtest.h>

#include "tests/net/fake_broker.hpp"

namespace kb::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::fake_behavior;
using testing::fake_broker;

template <class T>
result<T> run(asio::io_context& io, asio::awaitable<result<T>> task, std::chrono::milliseconds limit = 10s) {
  std::optional<result<T>> out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, result<T> r) {
    out = e ? result<T>(fail(errc::internal, "coroutine threw")) : std::move(r);
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!out && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  if (!out) return fail(errc::internal, "task did not finish in time");
  return std::move(*out);
}

fake_behavior with_topics() {
  fake_behavior b;
  b.mechanisms.clear();
  b.topics = {{"orders", 3}, {"payments", 1}};
  return b;
}

cluster_options options_for(std::vector<std::string> servers) {
  cluster_options opts;
  opts.bootstrap_servers = std::move(servers);
  opts.connection.connect_timeout = 1s;
  opts.connection.request_timeout = 1s;
  opts.retry_backoff = 10ms;
  opts.retry_backoff_max = 50ms;
  opts.max_attempts = 3;
  return opts;
}

std::uint16_t unused_port(asio::io_context& io) {
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  return probe.local_endpoint().port();
}

TEST(cluster_helpers, parse_host_port) {
  EXPECT_EQ(parse_host_port("kafka-0:9093").value(), std::make_pair(std::string("kafka-0"), std::uint16_t{9093}));
  EXPECT_EQ(parse_host_port("[::1]:9092").value(), std::make_pair(std::string("::1"), std::uint16_t{9092}));
  for (const char* bad : {"kafka", "kafka:", ":9092", "kafka:0", "kafka:70000", "kafka:9o92", "::1:9092", "[::1]9092"}) {
    auto r = parse_host_port(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(errc::config));
  }
}

TEST(cluster_helpers, backoff_grows_with_jitter_and_cap) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    const auto first = backoff_delay(0, 100ms, 10s, rng);
    EXPECT_GE(first, 80ms);
    EXPECT_LE(first, 120ms);
    const auto third = backoff_delay(3, 100ms, 10s, rng);  // 800 ms ± 20%
    EXPECT_GE(third, 640ms);
    EXPECT_LE(third, 960ms);
    EXPECT_LE(backoff_delay(40, 100ms, 10s, rng), 10s);
    EXPECT_GE(backoff_delay(40, 100ms, 10s, rng), 8s);
  }
}

TEST(cluster_helpers, metadata_refresh_classification) {
  // Apache Kafka error codes (Errors.java): 6 NOT_LEADER_OR_FOLLOWER, 3 UNKNOWN_TOPIC_OR_PARTITION,
  // 74 FENCED_LEADER_EPOCH, 75 UNKNOWN_LEADER_EPOCH, 5 LEADER_NOT_AVAILABLE.
  for (std::int16_t code : {6, 3, 74, 75, 5}) EXPECT_TRUE(needs_metadata_refresh(code)) << code;
  for (std::int16_t code : {0, 1, 29, 58}) EXPECT_FALSE(needs_metadata_refresh(code)) << code;
  const auto denied = topic_error(29, "orders", "User:backup");
  EXPECT_TRUE(denied.is(errc::authorization));
  EXPECT_EQ(denied.message.rfind("Not authorized to access topic 'orders'", 0), 0u);
  EXPECT_EQ(exit_code_for(denied), exit_code::access);
}

TEST(cluster, bootstraps_past_a_dead_server_and_maps_leaders) {
  asio::io_context io;
  fake_broker broker(io, with_topics());
  const auto dead = unused_port(io);
  auto c = cluster::create(io.get_executor(), options_for({"127.0.0.1:" + std::to_string(dead),
                                                           "127.0.0.1:" + std::to_string(broker.port())}));
  auto boot = run(io, c->async_bootstrap());
  ASSERT_TRUE(boot) << boot.error().message;
  EXPECT_EQ(c->cluster_id().value_or(""), "fake-cluster");
  ASSERT_EQ(c->brokers().size(), 1u);
  ASSERT_NE(c->find_topic("orders"), nullptr);
  EXPECT_EQ(c->find_topic("orders")->partitions.size(), 3u);
  EXPECT_EQ(c->leader({"orders", 2}).value(), 1);
  auto missing = c->leader({"orders", 3});
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(errc::not_found));
  EXPECT_FALSE(c->leader({"nope", 0}));

  const std::vector<topic_partition> wanted = {{"orders", 0}, {"payments", 0}, {"orders", 1}, {"ghost", 0}};
  std::vector<topic_partition> unassigned;
  const auto grouped = c->group_by_leader(wanted, &unassigned);
  ASSERT_EQ(grouped.size(), 1u);
  EXPECT_EQ(grouped.at(1).size(), 3u);
  ASSERT_EQ(unassigned.size(), 1u);
  EXPECT_EQ(unassigned[0].topic, "ghost");

  // The bootstrap connection is adopted as node 1's connection: no second connection.
  auto conn = run(io, c->async_connection(1));
  ASSERT_TRUE(conn) << conn.error().message;
  EXPECT_EQ(broker.sessions(), 1);
  c->close();
}

TEST(cluster, all_servers_down_names_each) {
  asio::io_context io;
  const auto a = unused_port(io);
  auto c = cluster::create(io.get_executor(), options_for({"127.0.0.1:" + std::to_string(a)}));
  auto boot = run(io, c->async_bootstrap());
  ASSERT_FALSE(boot);
  EXPECT_TRUE(boot.error().is(errc::connect));
  EXPECT_NE(boot.error().message.find("127.0.0.1:" + std::to_string(a)), std::string::npos) << boot.error().message;
}

TEST(cluster, sasl_failure_is_not_retried) {
  asio::io_context io;
  fake_behavior b = with_topics();
  b.mechanisms = {"PLAIN"};
  fake_broker broker(io, b);
  auto opts = options_for({"127.0.0.1:" + std::to_string(broker.port())});
  opts.connection.protocol = security_protocol::sasl_plaintext;
  opts.connection.sasl = {"PLAIN", "backup", secret("wrong")};
  auto c = cluster::create(io.get_executor(), opts);
  auto boot = run(io, c->async_bootstrap());
  ASSERT_FALSE(boot);
  EXPECT_TRUE(boot.error().is(errc::sasl));
  EXPECT_EQ(broker.count(protocol::api_key::sasl_authenticate), 1);
}

TEST(cluster, send_reconnects_after_connection_loss) {
  asio::io_context io;
  fake_behavior b = with_topics();
  b.drop_at_request = 2;  // ApiVersions, Metadata, then the user's request: dropped once
  b.drop_only_first_session = true;
  fake_broker broker(io, b);
  auto c = cluster::create(io.get_executor(), options_for({"127.0.0.1:" + std::to_string(broker.port())}));
  ASSERT_TRUE(run(io, c->async_bootstrap()));
  protocol::api_versions_request req;
  req.client_software_name = "again";
  req.client_software_version = "1";
  auto resp = run(io, c->async_send(1, req));
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(broker.sessions(), 2);
  // Metadata for one topic merges into the cache.
  ASSERT_TRUE(run(io, c->async_refresh_metadata(std::vector<std::string>{"payments"})));
  EXPECT_NE(c->find_topic("orders"), nullptr);
  EXPECT_NE(c->find_topic("payments"), nullptr);
}

// A broker that dies mid-request (connection dropped, port closed) must not hold async_send
// for minutes of nested reconnect back-offs: it fails within the request timeout, naming the node.
TEST(cluster, send_to_a_dead_broker_fails_within_the_request_timeout) {
  asio::io_context io;
  fake_behavior b = with_topics();
  b.drop_at_request = 2;  // ApiVersions, Metadata, then the user's request: dropped
  fake_broker broker(io, b);
  auto opts = options_for({"127.0.0.1:" + std::to_string(broker.port())});
  opts.connection.request_timeout = 1500ms;
  opts.max_attempts = 8;  // nested retries with these once added up to ~40 s (~100 s at the 10 s cap)
  opts.retry_backoff = 100ms;
  opts.retry_backoff_max = 1s;
  auto c = cluster::create(io.get_executor(), opts);
  ASSERT_TRUE(run(io, c->async_bootstrap()));
  broker.stop();  // reconnects are refused from now on
  const auto start = std::chrono::steady_clock::now();
  auto resp = run(io, c->async_send(1, protocol::api_versions_request{"x", "1"}), 20s);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(resp);
  EXPECT_TRUE(resp.error().is(errc::connect) || resp.error().is(errc::timeout)) << resp.error().message;
  EXPECT_NE(resp.error().message.find("broker node 1 (127.0.0.1:"), std::string::npos) << resp.error().message;
  EXPECT_LT(took, 2500ms) << resp.error().message;
  // A metadata refresh cannot reach it either, and also ends in bounded time.
  const auto refresh_start = std::chrono::steady_clock::now();
  EXPECT_FALSE(run(io, c->async_refresh_metadata(), 60s));
  EXPECT_LT(std::chrono::steady_clock::now() - refresh_start, 15s);
}

TEST(cluster, send_spreads_requests_over_connections_per_broker) {
  for (const std::uint32_t per_broker : {1u, 3u}) {
    SCOPED_TRACE(per_broker);
    asio::io_context io;
    fake_broker broker(io, with_topics());
    auto opts = options_for({"127.0.0.1:" + std::to_string(broker.port())});
    opts.connections_per_broker = per_broker;
    auto c = cluster::create(io.get_executor(), opts);
    ASSERT_TRUE(run(io, c->async_bootstrap()));
    EXPECT_EQ(broker.sessions(), 1);  // the bootstrap connection becomes node 1's first
    for (int i = 0; i < 6; ++i) {
      auto resp = run(io, c->async_send(1, protocol::api_versions_request{"x", "1"}));
      ASSERT_TRUE(resp) << resp.error().message;
    }
    EXPECT_EQ(broker.sessions(), static_cast<int>(per_broker));
    EXPECT_EQ(broker.count(protocol::api_key::api_versions), static_cast<int>(per_broker) + 6);
  }
}

TEST(cluster, send_with_a_slot_stays_on_that_connection) {
  // Restore pins each partition's produce requests to one slot so they keep their order.
  asio::io_context io;
  fake_broker broker(io, with_topics());
  auto opts = options_for({"127.0.0.1:" + std::to_string(broker.port())});
  opts.connections_per_broker = 3;
  auto c = cluster::create(io.get_executor(), opts);
  ASSERT_TRUE(run(io, c->async_bootstrap()));
  for (int i = 0; i < 6; ++i) {
    auto resp = run(io, c->async_send(1, protocol::api_versions_request{"x", "1"}, 4u));  // 4 % 3: slot 1
    ASSERT_TRUE(resp) << resp.error().message;
  }
  EXPECT_EQ(broker.sessions(), 2);  // the bootstrap connection (slot 0) and slot 1, nothing else
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(run(io, c->async_send(1, protocol::api_versions_request{"x", "1"}, 0u)));
  EXPECT_EQ(broker.sessions(), 2);
}


// Two sends on one slot that both lose their connection and reconnect while the broker refuses
// the new connections for a while (toxiproxy reset_peer did this to a restore): the cluster must
// end with one connection for the slot, and close() must close every connection it made. An
// overwritten one stayed open, so its read loop kept io.run() (and the restore) going forever.
TEST(cluster, racing_reconnects_on_one_slot_leave_nothing_open_after_close) {
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    asio::io_context io;
    fake_behavior b = with_topics();
    b.drop_at_request = 2;  // ApiVersions, Metadata, then the first user request: dropped
    b.drop_only_first_session = true;
    b.drop_sessions_until = 7;  // the next six connections fail their ApiVersions
    auto broker = std::make_unique<fake_broker>(io, b);
    auto opts = options_for({"127.0.0.1:" + std::to_string(broker->port())});
    opts.max_attempts = 10;
    opts.connection.request_timeout = 5s;
    auto c = cluster::create(io.get_executor(), opts);
    ASSERT_TRUE(run(io, c->async_bootstrap()));
    int ok = 0;
    int done = 0;
    for (int i = 0; i < 2; ++i) {
      asio::co_spawn(io, c->async_send(1, protocol::api_versions_request{"x", "1"}, 0u),
                     [&](std::exception_ptr, result<protocol::api_versions_response> r) {
                       ok += r ? 1 : 0;
                       ++done;
                     });
    }
    for (int i = 0; i < 1000 && done < 2; ++i) {
      io.restart();
      io.run_for(10ms);
    }
    ASSERT_EQ(done, 2);
    EXPECT_EQ(ok, 2);
    c->close();
    broker->stop();
    // With every client socket closed, the fake broker's sessions end too: nothing is left to run.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!io.stopped() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(50ms);
    }
    EXPECT_TRUE(io.stopped()) << "a connection is still open after close()";
  }
}

}  // namespace
}  // namespace kb::net
