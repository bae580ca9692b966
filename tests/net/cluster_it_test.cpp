// Integration: net::cluster against the harness's real Kafka: bootstrap over SASL_SSL, create a
// topic as the admin user, find its partition leaders, and route requests through the cluster.
#include "net/cluster.hpp"

#include <random>

#include <gtest/gtest.h>

#include "protocol/create_topics.hpp"
#include "tests/net/harness_env.hpp"

namespace kb::net {
namespace {

using namespace std::chrono_literals;
using testing::env;
using testing::run;

cluster_options admin_options() {
  cluster_options opts;
  opts.bootstrap_servers = {env().str({"kafka", "listeners", "SASL_SSL"})};
  opts.connection.protocol = security_protocol::sasl_ssl;
  opts.connection.tls.ca_location = env().str({"tls", "ca"});
  opts.connection.sasl = {"SCRAM-SHA-512", "admin", secret(env().str({"users", "admin"}))};
  opts.connection.client_id = "kb-net-cluster-it";
  return opts;
}

TEST(cluster_it, bootstrap_create_topic_and_find_leaders) {
  boost::asio::io_context io;
  auto c = cluster::create(io.get_executor(), admin_options());
  auto boot = run(io, c->async_bootstrap());
  ASSERT_TRUE(boot) << boot.error().message;
  ASSERT_FALSE(c->brokers().empty());
  EXPECT_TRUE(c->cluster_id().has_value());
  const std::int32_t node = c->brokers().begin()->first;

  const std::string topic = "kb-net-it-" + std::to_string(std::random_device{}() % 1000000);
  protocol::create_topics_request create;
  create.topics.push_back({topic, 3, 1, {}, {}});
  create.timeout_ms = 20000;
  auto created = run(io, c->async_send(node, create));
  ASSERT_TRUE(created) << created.error().message;
  ASSERT_EQ(created->topics.size(), 1u);
  EXPECT_EQ(created->topics[0].error_code, 0) << created->topics[0].error_message.value_or("");

  // Leaders appear in metadata shortly after creation: refresh until all three have one.
  std::vector<topic_partition> parts = {{topic, 0}, {topic, 1}, {topic, 2}};
  std::vector<topic_partition> unassigned;
  std::map<std::int32_t, std::vector<topic_partition>> grouped;
  for (int attempt = 0; attempt < 50; ++attempt) {
    ASSERT_TRUE(run(io, c->async_refresh_metadata(std::vector<std::string>{topic})));
    unassigned.clear();
    grouped = c->group_by_leader(parts, &unassigned);
    if (unassigned.empty()) break;
    boost::asio::steady_timer wait(io);
    wait.expires_after(100ms);
    wait.async_wait([](auto) {});
    io.restart();
    io.run_for(150ms);
  }
  EXPECT_TRUE(unassigned.empty());
  ASSERT_EQ(grouped.size(), 1u);  // single-broker profile
  EXPECT_EQ(grouped.begin()->first, node);
  EXPECT_EQ(grouped.begin()->second.size(), 3u);
  EXPECT_EQ(c->leader({topic, 1}).value(), node);
  EXPECT_FALSE(c->leader({topic, 3}));
  c->close();
}

TEST(cluster_it, wrong_password_stops_bootstrap_at_once) {
  boost::asio::io_context io;
  auto opts = admin_options();
  opts.connection.sasl.password = secret("definitely-wrong");
  auto c = cluster::create(io.get_executor(), opts);
  const auto start = std::chrono::steady_clock::now();
  auto boot = run(io, c->async_bootstrap());
  ASSERT_FALSE(boot);
  EXPECT_TRUE(boot.error().is(errc::sasl)) << boot.error().message;
  EXPECT_EQ(boot.error().message.find("definitely-wrong"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

}  // namespace
}  // namespace kb::net
