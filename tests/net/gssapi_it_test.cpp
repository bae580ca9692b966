// Integration (suite 'kerberos'): SASL GSSAPI against the MIT KDC and Kafka broker of
// tests/harness/kerberos.py ($KB_TEST_ENV_KERBEROS). Authenticates from a keytab (over
// SASL_PLAINTEXT and SASL_SSL) and from a kinit credential cache, reads metadata, produces and
// fetches; a principal without a ticket and a wrong service name fail with the documented SASL
// message; `kafka-backup backup` ($KB_BINARY) with sasl_mechanism GSSAPI backs a topic up to
// the filesystem.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "protocol/records/record_batch.hpp"
#include "tests/net/kafka_it.hpp"

namespace kb::net {
namespace {

using namespace testing;
namespace fs = std::filesystem;

// kafka_it.hpp reads $KB_TEST_ENV; point it at the Kerberos profile before any test runs.
const bool env_redirected = [] {
  if (const char* p = std::getenv("KB_TEST_ENV_KERBEROS"); p != nullptr && *p != '\0')
    ::setenv("KB_TEST_ENV", p, 1);
  else
    ::unsetenv("KB_TEST_ENV");  // never a non-Kerberos profile by accident
  return true;
}();

class gssapi_it : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_redirected);
    ASSERT_NE(std::getenv("KB_TEST_ENV_KERBEROS"), nullptr)
        << "KB_TEST_ENV_KERBEROS is not set: run tests/harness/kerberos.py up --run-dir DIR and export "
           "KB_TEST_ENV_KERBEROS=DIR/env.json";
    ASSERT_EQ(env().str({"profile"}), "kerberos");
    run_dir_ = env().str({"run_dir"});
    // The realm's own krb5.conf; no ambient cache or client keytab may leak into a test.
    ::setenv("KRB5_CONFIG", env().str({"kerberos", "krb5_config"}).c_str(), 1);
    ::unsetenv("KRB5_CLIENT_KTNAME");
    set_cache("absent.cc");
  }
  void TearDown() override { ::unsetenv("KRB5CCNAME"); }

  void set_cache(const std::string& name) {
    cache_ = fs::path(run_dir_) / "cc" / name;
    fs::create_directories(cache_.parent_path());
    ::setenv("KRB5CCNAME", ("FILE:" + cache_.string()).c_str(), 1);
  }

  connection_options gssapi_options(const std::string& principal, const std::string& keytab) const {
    connection_options opts;
    opts.client_id = "kb-gssapi-it";
    opts.connect_timeout = 15s;
    opts.request_timeout = 30s;
    opts.protocol = security_protocol::sasl_plaintext;
    opts.sasl.mechanism = "GSSAPI";
    opts.sasl.username = principal;
    opts.sasl.keytab_path = keytab;
    opts.sasl.kerberos_service_name = env().str({"kerberos", "service_name"});
    return opts;
  }

  /// The harness client's keytab login over the SASL_SSL listener.
  connection_options client_sasl_ssl_options() const {
    auto opts = gssapi_options(env().str({"kerberos", "client_principal"}), env().str({"kerberos", "client_keytab"}));
    opts.protocol = security_protocol::sasl_ssl;
    opts.tls.ca_location = env().str({"tls", "ca"});
    return opts;
  }

  std::string run_dir_;
  fs::path cache_;
};

byte_vector one_batch(const std::string& tag) {
  protocol::record_batch_builder b({.codec = protocol::compression_codec::zstd});
  const std::string k1 = "k1-" + tag, v1 = "value-1-" + tag, k2 = "k2-" + tag, v2 = "value-2-" + tag;
  const std::int64_t ts0 = now_ms();
  b.add(ts0, as_bytes(k1), as_bytes(v1), {});
  b.add(ts0 + 1, as_bytes(k2), as_bytes(v2), {});
  auto built = b.build();
  EXPECT_TRUE(built) << built.error().message;
  return built ? *built : byte_vector{};
}

void round_trip(session& s) {
  const std::string topic = unique_name("kb-gssapi");
  auto leader = create_topic(s, topic);
  ASSERT_TRUE(leader) << leader.error().message;
  const auto batch = one_batch(topic);
  auto base = produce_batch(s, topic, batch);
  ASSERT_TRUE(base) << base.error().message;
  EXPECT_EQ(*base, 0);
  auto got = fetch_all(s, topic);
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->records.size(), 2u);
  EXPECT_EQ(got->records[0].key, "k1-" + topic);
  EXPECT_EQ(got->records[1].value, "value-2-" + topic);
}

TEST_F(gssapi_it, keytab_authenticates_reads_metadata_produces_and_fetches) {
  session s("SASL_PLAINTEXT", gssapi_options(env().str({"kerberos", "client_principal"}),
                                             env().str({"kerberos", "client_keytab"})));
  auto ok = s.connect();
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(s.conn->authentications(), 1);
  protocol::metadata_request md;
  auto meta = s.send(md);
  ASSERT_TRUE(meta) << meta.error().message;
  ASSERT_EQ(meta->brokers.size(), 1u);
  EXPECT_EQ(meta->brokers[0].host, "localhost");
  round_trip(s);
  // The user's cache stays untouched: the keytab's tickets live in a private memory cache.
  EXPECT_FALSE(fs::exists(cache_));
}

TEST_F(gssapi_it, keytab_over_sasl_ssl_round_trips) {
  session s("SASL_SSL", client_sasl_ssl_options());
  auto ok = s.connect();
  ASSERT_TRUE(ok) << ok.error().message;
  round_trip(s);
}

TEST_F(gssapi_it, reauthenticates_when_the_sasl_ssl_session_expires) {
  // The harness gives SASL_SSL sessions a short lifetime (KIP-368): requests keep succeeding
  // over the same connection until it has re-authenticated twice with fresh GSSAPI exchanges
  // (bounded: about two lifetimes of 3 s are needed, 30 s allowed).
  session s("SASL_SSL", client_sasl_ssl_options());
  auto ok = s.connect();
  ASSERT_TRUE(ok) << ok.error().message;
  const auto conn = s.conn;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (int i = 0; i < 600 && s.conn->authentications() < 3 && std::chrono::steady_clock::now() < deadline; ++i) {
    protocol::metadata_request md;
    auto r = s.send(md);
    ASSERT_TRUE(r) << "request " << i << ": " << r.error().message;
    std::this_thread::sleep_for(50ms);  // the pace of the requests, not a wait for a state
  }
  EXPECT_EQ(s.conn, conn);
  EXPECT_TRUE(s.conn->is_ready());
  EXPECT_GE(s.conn->authentications(), 3);
}

TEST_F(gssapi_it, keytab_without_principal_uses_its_first_entry) {
  session s("SASL_PLAINTEXT", gssapi_options("", env().str({"kerberos", "client_keytab"})));
  auto ok = s.connect();
  ASSERT_TRUE(ok) << ok.error().message;
  protocol::metadata_request md;
  ASSERT_TRUE(s.send(md));
}

TEST_F(gssapi_it, kinit_credential_cache_authenticates) {
  set_cache("kinit.cc");
  fs::remove(cache_);
  const std::string kinit = "kinit -k -t '" + env().str({"kerberos", "client_keytab"}) + "' '" +
                            env().str({"kerberos", "client_principal"}) + "'";
  ASSERT_EQ(std::system(kinit.c_str()), 0) << kinit;
  ASSERT_TRUE(fs::exists(cache_));
  session s("SASL_PLAINTEXT", gssapi_options("", ""));
  auto ok = s.connect();
  ASSERT_TRUE(ok) << ok.error().message;
  round_trip(s);
}

TEST_F(gssapi_it, principal_without_ticket_fails_naming_mechanism_and_principal) {
  const std::string who = env().str({"kerberos", "noticket_principal"});
  ASSERT_FALSE(fs::exists(cache_));
  session s("SASL_PLAINTEXT", gssapi_options(who, ""));
  const auto t0 = std::chrono::steady_clock::now();
  auto ok = s.connect();
  ASSERT_FALSE(ok);
  EXPECT_TRUE(ok.error().is(errc::sasl)) << ok.error().message;
  const auto& m = ok.error().message;
  EXPECT_NE(m.find("SASL authentication failed"), std::string::npos) << m;
  EXPECT_NE(m.find("GSSAPI"), std::string::npos) << m;
  EXPECT_NE(m.find(who), std::string::npos) << m;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(gssapi_it, wrong_service_name_fails_with_kerberos_reason) {
  auto opts = gssapi_options(env().str({"kerberos", "client_principal"}), env().str({"kerberos", "client_keytab"}));
  opts.sasl.kerberos_service_name = "notkafka";
  session s("SASL_PLAINTEXT", std::move(opts));
  auto ok = s.connect();
  ASSERT_FALSE(ok);
  EXPECT_TRUE(ok.error().is(errc::sasl)) << ok.error().message;
  EXPECT_NE(ok.error().message.find("not found in Kerberos database"), std::string::npos) << ok.error().message;
}

struct cli_result {
  int rc = -1;
  std::string output;  ///< stdout and stderr
};

/// Runs `kafka-backup backup --config cfg --no-progress` (bounded by timeout(1)).
cli_result run_backup(const fs::path& cfg) {
  const char* bin = std::getenv("KB_BINARY");
  EXPECT_NE(bin, nullptr) << "KB_BINARY must name the kafka-backup binary";
  if (bin == nullptr) return {};
  const std::string cmd = "timeout 120 '" + std::string(bin) + "' backup --config '" + cfg.string() + "' --no-progress 2>&1";
  cli_result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// A backup config (JSON is YAML) for `topic` over the GSSAPI listener into `store`.
fs::path write_config(const fs::path& dir, const std::string& id, const std::string& topic, const fs::path& store,
                      const std::string& principal, const std::string& keytab) {
  json::object sec{{"security_protocol", "SASL_PLAINTEXT"},
                   {"sasl_mechanism", "GSSAPI"},
                   {"sasl_username", principal},
                   {"sasl_kerberos_service_name", env().str({"kerberos", "service_name"})},
                   {"sasl_krb5_config_path", env().str({"kerberos", "krb5_config"})}};
  if (!keytab.empty()) sec["sasl_keytab_path"] = keytab;
  json::object cfg{{"mode", "backup"},
                   {"backup_id", id},
                   {"source", json::object{{"bootstrap_servers", json::array{env().str({"kafka", "listeners", "SASL_PLAINTEXT"})}},
                                           {"topics", json::object{{"include", json::array{topic}}}},
                                           {"security", sec}}},
                   {"storage", json::object{{"backend", "filesystem"}, {"path", store.string()}}}};
  const fs::path path = dir / (id + ".yaml");
  std::ofstream(path) << json::serialize(cfg);
  return path;
}

TEST_F(gssapi_it, cli_backup_over_gssapi_to_filesystem) {
  session s("SASL_PLAINTEXT", gssapi_options(env().str({"kerberos", "client_principal"}),
                                             env().str({"kerberos", "client_keytab"})));
  ASSERT_TRUE(s.connect());
  const std::string topic = unique_name("kb-gssapi-cli");
  ASSERT_TRUE(create_topic(s, topic));
  ASSERT_TRUE(produce_batch(s, topic, one_batch(topic)));

  const fs::path dir = fs::path(run_dir_) / "cli" / topic;
  fs::create_directories(dir);
  const auto cfg = write_config(dir, "gss", topic, dir / "store", env().str({"kerberos", "client_principal"}),
                                env().str({"kerberos", "client_keytab"}));
  const auto r = run_backup(cfg);
  ASSERT_EQ(r.rc, 0) << r.output;
  const fs::path part = dir / "store" / "gss" / "topics" / topic / "0";
  std::ifstream ck(part / "checkpoint.json");
  ASSERT_TRUE(ck) << "no checkpoint in " << part << "\n" << r.output;
  std::stringstream text;
  text << ck.rdbuf();
  const auto doc = json::parse(text.str());
  EXPECT_EQ(doc.at("next_offset").to_number<std::int64_t>(), 2) << text.str();
  EXPECT_FALSE(fs::exists(cache_)) << "the CLI wrote the user's credential cache";
}

TEST_F(gssapi_it, cli_backup_without_ticket_exits_3_naming_principal) {
  const std::string who = env().str({"kerberos", "noticket_principal"});
  const fs::path dir = fs::path(run_dir_) / "cli" / unique_name("noticket");
  fs::create_directories(dir);
  const auto cfg = write_config(dir, "gss", "kb-gssapi-any", dir / "store", who, "");
  const auto r = run_backup(cfg);
  EXPECT_EQ(r.rc, 3) << r.output;
  EXPECT_NE(r.output.find("SASL authentication failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("GSSAPI"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(who), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kb::net
