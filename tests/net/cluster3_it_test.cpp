// Three-broker integration ($KB_TEST_ENV_CLUSTER3, suite 'cluster3'): the partition leader is
// SIGKILLed while our Fetch is parked on it. The request must fail within the request timeout
// (no ~100 s reconnect hang), name the broker, and after a metadata refresh the new leader
// serves the same records. The killed node is restarted afterwards.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <gtest/gtest.h>

#include "net/cluster.hpp"
#include "protocol/create_topics.hpp"
#include "protocol/fetch.hpp"
#include "protocol/produce.hpp"
#include "protocol/records/record_batch.hpp"
#include "tests/net/harness_env.hpp"

namespace kb::net {
namespace {

using namespace std::chrono_literals;
using testing::env3;
using testing::run;
using clock_type = std::chrono::steady_clock;

constexpr auto request_timeout = 8s;

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int harness(const std::string& verb, std::int32_t node) {
  const std::string cmd = "python3 " + shell_quote(std::string(KB_SOURCE_ROOT) + "/tests/harness/cluster.py") + " " +
                          verb + " --node " + std::to_string(node) + " --run-dir " +
                          shell_quote(env3().str({"run_dir"})) + (verb == "kill" ? " --signal KILL" : "") +
                          " >&2";
  return std::system(cmd.c_str());
}

/// Restarts the killed node however the test ends, so later cluster3 tests see three brokers.
struct restart_guard {
  std::int32_t node = -1;
  ~restart_guard() {
    if (node >= 0 && harness("start", node) != 0) ADD_FAILURE() << "could not restart kafka node " << node;
  }
};

cluster_options plaintext_cluster() {
  cluster_options opts;
  const std::string list = env3().str({"kafka", "listeners", "PLAINTEXT"});
  for (std::size_t start = 0; start < list.size();) {
    const auto comma = list.find(',', start);
    opts.bootstrap_servers.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  opts.connection.client_id = "kb-net-cluster3-it";
  opts.connection.connect_timeout = 5s;
  opts.connection.request_timeout = request_timeout;
  return opts;  // max_attempts and back-off at their defaults: the combination that used to hang
}

protocol::fetch_request fetch_for(const topic_info& t, std::int64_t offset, std::int32_t max_wait_ms,
                                  std::int32_t min_bytes) {
  protocol::fetch_request req;
  req.max_wait_ms = max_wait_ms;
  req.min_bytes = min_bytes;
  req.max_bytes = 1 << 20;
  protocol::fetch_request::topic ft;
  ft.topic = t.name;
  ft.topic_id = t.topic_id;
  ft.partitions.push_back({0, -1, offset, -1, -1, 1 << 20, {}});
  req.topics.push_back(std::move(ft));
  return req;
}

/// Values of the data records in a fetch response's only partition.
std::vector<std::string> values_of(const protocol::fetch_response& resp) {
  std::vector<std::string> out;
  if (resp.responses.size() != 1 || resp.responses[0].partitions.size() != 1) return out;
  const auto& p = resp.responses[0].partitions[0];
  if (!p.records) return out;
  auto split = protocol::split_batches(*p.records);
  if (!split) return out;
  for (auto& b : split->batches) {
    auto set = protocol::read_records(b.bytes);
    if (!set) continue;
    for (const auto& r : set->records)
      if (r.value) out.emplace_back(as_text(*r.value));
  }
  return out;
}

TEST(cluster3_it, leader_killed_mid_request_fails_fast_then_fails_over) {
  boost::asio::io_context io;
  auto c = cluster::create(io.get_executor(), plaintext_cluster());
  auto boot = run(io, c->async_bootstrap());
  ASSERT_TRUE(boot) << boot.error().message;
  ASSERT_EQ(c->brokers().size(), 3u) << "the cluster3 profile should have three brokers in metadata";

  const std::string topic = "kb-c3-kill-" + std::to_string(std::random_device{}() % 100000000);
  protocol::create_topics_request create;
  create.topics.push_back({topic, 1, 3, {}, {}});
  create.timeout_ms = 20000;
  auto created = run(io, c->async_send(c->brokers().begin()->first, create));
  ASSERT_TRUE(created) << created.error().message;
  ASSERT_EQ(created->topics.size(), 1u);
  ASSERT_EQ(created->topics[0].error_code, 0) << created->topics[0].error_message.value_or("");

  std::int32_t leader = -1;
  for (int i = 0; i < 100 && leader < 0; ++i) {
    ASSERT_TRUE(run(io, c->async_refresh_metadata(std::vector<std::string>{topic})));
    const topic_info* t = c->find_topic(topic);
    if (t != nullptr && !t->partitions.empty() && t->partitions[0].isr.size() == 3) leader = c->leader({topic, 0}).value_or(-1);
    if (leader < 0) std::this_thread::sleep_for(100ms);
  }
  ASSERT_GE(leader, 0) << "no leader with a full ISR for " << topic;
  const topic_info info = *c->find_topic(topic);

  // Three records, acks=all (min.insync.replicas=2, so they survive the loss of one node). They
  // carry the current time: with an old fixed timestamp the broker's retention check (7 days by
  // record time, first run 30 s after a broker starts, so right after the restart of the previous
  // run) deleted the segment mid-test, and the new leader rightly answered OFFSET_OUT_OF_RANGE
  // for offset 0 because its log then started at 3.
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  protocol::record_batch_builder b({.codec = protocol::compression_codec::zstd});
  for (int i = 0; i < 3; ++i) b.add(now_ms + i, std::nullopt, as_bytes("v" + std::to_string(i)));
  auto batch = b.build();
  ASSERT_TRUE(batch);
  protocol::produce_request produce;
  produce.acks = -1;
  produce.timeout_ms = 10000;
  produce.topic_data.push_back({topic, {{0, byte_view(*batch)}}});
  // Leadership can still move right after creation (a node restarted by an earlier run takes its
  // preferred leadership back), and the leader may not have applied the new topic's metadata yet
  // although another broker already reports it: on NOT_LEADER_OR_FOLLOWER (6) or
  // UNKNOWN_TOPIC_OR_PARTITION (3) refresh and retry, up to 30 s.
  std::int16_t produce_error = -1;
  for (const auto produce_from = clock_type::now(); clock_type::now() - produce_from < 30s;) {
    auto produced = run(io, c->async_send(leader, produce));
    ASSERT_TRUE(produced) << produced.error().message;
    produce_error = produced->responses.at(0).partition_responses.at(0).error_code;
    if (produce_error != 6 && produce_error != 3) break;
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(run(io, c->async_refresh_metadata(std::vector<std::string>{topic})));
    leader = c->leader({topic, 0}).value_or(leader);
  }
  ASSERT_EQ(produce_error, 0);

  // Park a Fetch on the leader (offset at the end, min_bytes unreachable, long max wait).
  std::optional<result<protocol::fetch_response>> parked;
  boost::asio::co_spawn(io, c->async_send(leader, fetch_for(info, 3, 60'000, 1 << 20)),
                        [&](std::exception_ptr e, result<protocol::fetch_response> r) {
                          parked = e ? result<protocol::fetch_response>(fail(errc::internal, "threw")) : std::move(r);
                        });
  for (int i = 0; i < 50; ++i) {  // 1 s for the request to reach the broker
    io.restart();
    io.run_for(20ms);
  }
  ASSERT_FALSE(parked.has_value()) << "the fetch should be parked on the broker";

  restart_guard guard;
  ASSERT_EQ(harness("kill", leader), 0);
  guard.node = leader;
  const auto killed_at = clock_type::now();
  while (!parked && clock_type::now() - killed_at < 120s) {
    io.restart();
    io.run_for(20ms);
  }
  const auto took = clock_type::now() - killed_at;
  ASSERT_TRUE(parked.has_value()) << "async_send did not return within 120 s of the kill";
  ASSERT_FALSE(*parked) << "a fetch parked on a killed broker cannot succeed";
  const error& e = parked->error();
  std::cerr << "[message] " << e.message << " ("
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms after the kill)\n";
  EXPECT_TRUE(e.is(errc::connect) || e.is(errc::timeout)) << e.message;
  EXPECT_NE(e.message.find("broker node " + std::to_string(leader)), std::string::npos) << e.message;
  EXPECT_LT(took, request_timeout + 2s) << e.message;

  // A new request to the dead node also ends within the request timeout.
  const auto again_at = clock_type::now();
  auto again = run(io, c->async_send(leader, fetch_for(info, 0, 100, 1)), 120s);
  EXPECT_FALSE(again);
  EXPECT_LT(clock_type::now() - again_at, request_timeout + 2s);

  // Fail over: refresh until another node leads (the dead one is fenced after ~6 s), then read
  // the three records from it. Bounded to 60 s.
  std::vector<std::string> values;
  std::int32_t new_leader = -1;
  std::string last_state = "no attempt";
  const auto failover_at = clock_type::now();
  while (clock_type::now() - failover_at < 60s) {
    auto refreshed = run(io, c->async_refresh_metadata(std::vector<std::string>{topic}), 60s);
    if (!refreshed) {
      last_state = "metadata refresh failed: " + refreshed.error().message;
    } else {
      auto l = c->leader({topic, 0});
      if (!l || *l == leader) {
        last_state = "metadata still names node " + std::to_string(l.value_or(-1)) + " as leader";
      } else {
        auto f = run(io, c->async_send(*l, fetch_for(*c->find_topic(topic), 0, 500, 1)), 60s);
        if (f && f->responses.size() == 1 && f->responses[0].partitions.size() == 1 &&
            f->responses[0].partitions[0].error_code == 0) {
          new_leader = *l;
          values = values_of(*f);
          break;
        }
        last_state = "fetch from node " + std::to_string(*l) + ": " +
                     (f ? (f->responses.size() == 1 && f->responses[0].partitions.size() == 1
                               ? "error code " + std::to_string(f->responses[0].partitions[0].error_code)
                               : std::string("unexpected response shape"))
                        : f.error().message);
      }
    }
    std::this_thread::sleep_for(250ms);
  }
  std::cerr << "[failover] new leader " << new_leader << " after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - failover_at).count()
            << " ms\n";
  ASSERT_GE(new_leader, 0) << "no other broker took over partition 0 within 60 s; last: " << last_state;
  EXPECT_NE(new_leader, leader);
  EXPECT_EQ(values, (std::vector<std::string>{"v0", "v1", "v2"}));
  c->close();
}

}  // namespace
}  // namespace kb::net
