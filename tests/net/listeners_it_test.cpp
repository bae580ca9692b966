// Integration: every listener of the harness broker (PLAINTEXT, SSL, MTLS, SASL_PLAINTEXT,
// SASL_SSL) and every SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512): connect, read
// metadata, produce one batch per codec (none, gzip, snappy, lz4, zstd) and read every record
// back. Also the authorization and unknown-topic failures with their documented messages.
#include <algorithm>
#include <iostream>

#include <gtest/gtest.h>

#include "net/cluster.hpp"
#include "protocol/describe_groups.hpp"
#include "protocol/offset_fetch.hpp"
#include "tests/net/kafka_it.hpp"

namespace kb::net {
namespace {

using namespace testing;
using protocol::compression_codec;

constexpr compression_codec every_codec[] = {compression_codec::none, compression_codec::gzip,
                                             compression_codec::snappy, compression_codec::lz4,
                                             compression_codec::zstd};

struct listener_case {
  const char* listener;
  const char* mechanism;  ///< nullptr: no SASL
  const char* user;       ///< SASL user; MTLS maps the certificate's CN=backup to User:backup
};

std::string case_name(const listener_case& c) {
  return std::string(c.listener) + (c.mechanism ? std::string("/") + c.mechanism : std::string());
}

connection_options options_for(const listener_case& c) {
  connection_options opts;
  opts.client_id = "kb-net-listeners-it";
  opts.connect_timeout = 15s;
  opts.request_timeout = 30s;
  const std::string name = c.listener;
  opts.protocol = name == "PLAINTEXT"        ? security_protocol::plaintext
                  : name == "SASL_PLAINTEXT" ? security_protocol::sasl_plaintext
                  : name == "SASL_SSL"       ? security_protocol::sasl_ssl
                                             : security_protocol::ssl;
  if (uses_tls(opts.protocol)) opts.tls.ca_location = env().str({"tls", "ca"});
  if (name == "MTLS") {
    opts.tls.certificate_location = env().str({"tls", "client_cert"});
    opts.tls.key_location = env().str({"tls", "client_key"});
  }
  if (c.mechanism != nullptr) opts.sasl = {c.mechanism, c.user, secret(env().str({"users", c.user}))};
  return opts;
}

/// Records of one codec's batch: a header, a null key, a tombstone, binary bytes.
std::vector<plain_record> records_for(int codec_index, std::int64_t first_offset) {
  const std::string tag = std::to_string(codec_index);
  std::string binary = "bin-";
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  return {
      {first_offset, "k" + tag, "value-" + tag + std::string(500, 'x'), {{"h1", "v1"}, {"h-null", std::nullopt}}},
      {first_offset + 1, std::nullopt, "null-key-" + tag, {}},
      {first_offset + 2, "tomb-" + tag, std::nullopt, {}},
      {first_offset + 3, binary, binary, {{"bin", binary}}},
  };
}

result<byte_vector> build_batch(compression_codec codec, const std::vector<plain_record>& records, std::int64_t ts) {
  protocol::record_batch_builder b({.codec = codec});
  for (const auto& r : records) {
    std::vector<protocol::record_header> headers;
    for (const auto& [k, v] : r.headers)
      headers.push_back({as_bytes(k), v ? std::optional<byte_view>(as_bytes(*v)) : std::nullopt});
    b.add(ts++, r.key ? std::optional<byte_view>(as_bytes(*r.key)) : std::nullopt,
          r.value ? std::optional<byte_view>(as_bytes(*r.value)) : std::nullopt, headers);
  }
  return b.build();
}

/// Produces one batch per codec to a fresh topic over `c` (or over PLAINTEXT when `c`'s
/// principal may not write) and fetches everything back over `c`.
void round_trip_every_codec(const listener_case& c, bool produce_over_listener) {
  SCOPED_TRACE(case_name(c));
  session admin("PLAINTEXT");  // User:ANONYMOUS is a super user: topic creation
  ASSERT_TRUE(admin.connect());
  const std::string topic = unique_name("kb-listeners");
  auto leader = create_topic(admin, topic);
  ASSERT_TRUE(leader) << leader.error().message;

  session s(c.listener, options_for(c));
  auto connected = s.connect();
  ASSERT_TRUE(connected) << connected.error().message;
  EXPECT_TRUE(s.conn->is_ready());
  if (c.mechanism != nullptr) {
    EXPECT_EQ(s.conn->authentications(), 1);
  }

  // Metadata over this listener names the topic, its leader and this listener's port.
  protocol::metadata_request md;
  md.topics = std::vector<protocol::metadata_request::topic>{{{}, topic}};
  md.allow_auto_topic_creation = false;
  auto m = s.send(md);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->topics.size(), 1u);
  EXPECT_EQ(m->topics[0].error_code, 0);
  ASSERT_EQ(m->topics[0].partitions.size(), 1u);
  EXPECT_EQ(m->topics[0].partitions[0].leader_id, *leader);
  const auto port = listener(c.listener).port;
  EXPECT_TRUE(std::any_of(m->brokers.begin(), m->brokers.end(), [&](const auto& b) { return b.port == port; }));

  session& producer = produce_over_listener ? s : admin;
  std::vector<plain_record> want;
  std::vector<std::int64_t> want_ts;
  std::int64_t next = 0;
  const std::int64_t ts0 = now_ms();
  for (int i = 0; i < static_cast<int>(std::size(every_codec)); ++i) {
    auto records = records_for(i, next);
    auto batch = build_batch(every_codec[i], records, ts0 + 10 * i);
    ASSERT_TRUE(batch) << batch.error().message;
    auto base = produce_batch(producer, topic, *batch);
    ASSERT_TRUE(base) << base.error().message;
    EXPECT_EQ(*base, next);
    for (std::size_t k = 0; k < records.size(); ++k) want_ts.push_back(ts0 + 10 * i + static_cast<std::int64_t>(k));
    next += static_cast<std::int64_t>(records.size());
    want.insert(want.end(), records.begin(), records.end());
  }

  auto f = fetch_all(s, topic);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->records, want);
  EXPECT_EQ(f->timestamps, want_ts);
  EXPECT_EQ(f->codecs, std::vector<compression_codec>(std::begin(every_codec), std::end(every_codec)));
  EXPECT_EQ(f->partition.high_watermark, next);
}

TEST(listeners_it, plaintext_every_codec) { round_trip_every_codec({"PLAINTEXT", nullptr, nullptr}, true); }

TEST(listeners_it, ssl_every_codec) { round_trip_every_codec({"SSL", nullptr, nullptr}, true); }

TEST(listeners_it, mtls_every_codec) {
  // CN=backup may read but not write: produce over PLAINTEXT, read back over mTLS.
  round_trip_every_codec({"MTLS", nullptr, nullptr}, false);
}

TEST(listeners_it, sasl_plaintext_every_mechanism_every_codec) {
  for (const char* mech : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})
    round_trip_every_codec({"SASL_PLAINTEXT", mech, "admin"}, true);
}

TEST(listeners_it, sasl_ssl_every_mechanism_every_codec) {
  for (const char* mech : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})
    round_trip_every_codec({"SASL_SSL", mech, "admin"}, true);
}

TEST(listeners_it, least_privilege_users_read_and_write_what_their_acls_allow) {
  // backup: Read+Describe; restore: Write+Create+Describe (tests/harness/README.md).
  session admin("PLAINTEXT");
  ASSERT_TRUE(admin.connect());
  const std::string topic = unique_name("kb-listeners-acl");
  ASSERT_TRUE(create_topic(admin, topic));
  session restore("SASL_SSL", options_for({"SASL_SSL", "SCRAM-SHA-256", "restore"}));
  ASSERT_TRUE(restore.connect());
  auto records = records_for(0, 0);
  auto batch = build_batch(compression_codec::zstd, records, now_ms());
  ASSERT_TRUE(batch);
  auto base = produce_batch(restore, topic, *batch);
  ASSERT_TRUE(base) << base.error().message;
  session backup("SASL_SSL", options_for({"SASL_SSL", "PLAIN", "backup"}));
  ASSERT_TRUE(backup.connect());
  auto f = fetch_all(backup, topic);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->records, records);
  // backup may not write: the broker answers TOPIC_AUTHORIZATION_FAILED in the partition.
  auto denied = produce_batch(backup, topic, *batch);
  ASSERT_FALSE(denied);
  EXPECT_NE(denied.error().message.find("Produce error 29"), std::string::npos) << denied.error().message;
}

cluster_options noacl_cluster() {
  cluster_options opts;
  opts.bootstrap_servers = {env().str({"kafka", "listeners", "SASL_SSL"})};
  opts.connection = options_for({"SASL_SSL", "SCRAM-SHA-512", "noacl"});
  opts.max_attempts = 3;
  return opts;
}

TEST(listeners_it, no_acl_user_gets_the_documented_topic_and_group_messages) {
  session admin("PLAINTEXT");
  ASSERT_TRUE(admin.connect());
  const std::string topic = unique_name("kb-listeners-noacl");
  ASSERT_TRUE(create_topic(admin, topic));

  asio::io_context io;
  auto c = cluster::create(io.get_executor(), noacl_cluster());
  auto boot = run(io, c->async_bootstrap());
  ASSERT_TRUE(boot) << boot.error().message;  // authentication works; authorization does not
  ASSERT_TRUE(run(io, c->async_refresh_metadata(std::vector<std::string>{topic})));
  const topic_info* t = c->find_topic(topic);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->error_code, static_cast<std::int16_t>(protocol::error_code::topic_authorization_failed));
  EXPECT_EQ(protocol::classify(t->error_code), protocol::error_class::authorization);
  const error e = topic_error(t->error_code, topic, "User:noacl");
  std::cerr << "[message] " << e.message << "\n";
  EXPECT_TRUE(e.is(errc::authorization));
  EXPECT_EQ(e.message.rfind("Not authorized to access topic '" + topic + "'", 0), 0u) << e.message;
  EXPECT_NE(e.message.find("User:noacl"), std::string::npos);
  EXPECT_NE(e.message.find("Describe"), std::string::npos);  // the missing ACL operation
  EXPECT_EQ(exit_code_for(e), exit_code::access);

  // Fetch directly: the partition carries the same error. Capped at Fetch v12 (topics by name):
  // at v13+ the topic id is needed, and Metadata hides it from a principal without Describe.
  auto fetch_opts = options_for({"SASL_SSL", "SCRAM-SHA-512", "noacl"});
  fetch_opts.max_versions[protocol::api_key::fetch] = 12;
  session s("SASL_SSL", std::move(fetch_opts));
  ASSERT_TRUE(s.connect());
  auto f = fetch_all(s, topic);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("error 29"), std::string::npos) << f.error().message;

  // A consumer group: GROUP_AUTHORIZATION_FAILED.
  const std::string group = unique_name("kb-listeners-noacl-group");
  protocol::describe_groups_request dg;
  dg.groups = {group};
  auto g = s.send(dg);
  ASSERT_TRUE(g) << g.error().message;
  ASSERT_EQ(g->groups.size(), 1u);
  EXPECT_EQ(g->groups[0].error_code, static_cast<std::int16_t>(protocol::error_code::group_authorization_failed));
  const error ge = group_error(g->groups[0].error_code, group, "User:noacl");
  std::cerr << "[message] " << ge.message << "\n";
  EXPECT_TRUE(ge.is(errc::authorization));
  EXPECT_EQ(ge.message.rfind("Not authorized to access group '" + group + "'", 0), 0u) << ge.message;
  EXPECT_EQ(exit_code_for(ge), exit_code::access);
  c->close();
}

TEST(listeners_it, unknown_topic_is_reported_and_not_created) {
  asio::io_context io;
  cluster_options opts;
  opts.bootstrap_servers = {env().str({"kafka", "listeners", "SASL_SSL"})};
  opts.connection = options_for({"SASL_SSL", "SCRAM-SHA-512", "admin"});
  opts.max_attempts = 3;
  auto c = cluster::create(io.get_executor(), opts);
  ASSERT_TRUE(run(io, c->async_bootstrap()));
  const std::string topic = unique_name("kb-listeners-missing");
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run(io, c->async_refresh_metadata(std::vector<std::string>{topic})));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(c->find_topic(topic), nullptr);  // UNKNOWN_TOPIC_OR_PARTITION drops it from the cache
  auto leader = c->leader({topic, 0});
  ASSERT_FALSE(leader);
  EXPECT_TRUE(leader.error().is(errc::not_found));
  EXPECT_EQ(leader.error().message, "topic '" + topic + "' is not in the cluster metadata");
  const error e = topic_error(static_cast<std::int16_t>(protocol::error_code::unknown_topic_or_partition), topic, "");
  EXPECT_EQ(e.message, "topic '" + topic + "': broker error UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_EQ(protocol::classify(3), protocol::error_class::refresh_metadata);

  // Fetching it directly gives UNKNOWN_TOPIC_OR_PARTITION (3) or UNKNOWN_TOPIC_ID (100) quickly.
  session s("PLAINTEXT");
  ASSERT_TRUE(s.connect());
  protocol::fetch_request req;
  req.max_wait_ms = 100;
  req.topics.push_back({});
  req.topics[0].topic = topic;
  req.topics[0].partitions.push_back({0, -1, 0, -1, -1, 1 << 20, {}});
  auto r = s.send(req);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->responses.size(), 1u);
  ASSERT_EQ(r->responses[0].partitions.size(), 1u);
  const auto code = r->responses[0].partitions[0].error_code;
  EXPECT_TRUE(code == 3 || code == 100) << code;
  // And the topic was not auto-created by our Metadata request.
  protocol::metadata_request md;
  md.topics = std::vector<protocol::metadata_request::topic>{{{}, topic}};
  md.allow_auto_topic_creation = false;
  auto m = s.send(md);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->topics.size(), 1u);
  EXPECT_EQ(m->topics[0].error_code, 3);
  c->close();
}

}  // namespace
}  // namespace kb::net
