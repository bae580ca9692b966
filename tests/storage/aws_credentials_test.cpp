// Unit tests of the AWS credential chain: shared-file parsing, the identity endpoints' JSON,
// the chain's order and errors, and refresh before expiry with an injected clock.
#include "storage/aws_credentials.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>

namespace kb::storage {
namespace {

using namespace std::chrono_literals;
using tp = std::chrono::system_clock::time_point;

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

credential_settings pinned(std::string source) {
  credential_settings s;
  s.source = std::move(source);
  return s;
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() / ("kb-awscred-" + std::to_string(::getpid()) + "-" +
                                                     std::to_string(counter_++));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
  static inline std::atomic<int> counter_{0};
};

TEST(AwsCredentialsParse, IniSectionsKeysAndComments) {
  const auto ini = parse_ini(
      "# comment\n[default]\naws_access_key_id = AKID\n AWS_Secret_Access_Key=sec ret \n"
      "; other\n[profile ci]\ncredential_process = /bin/echo x\nbroken line\n");
  ASSERT_EQ(ini.count("default"), 1u);
  EXPECT_EQ(ini.at("default").at("aws_access_key_id"), "AKID");
  EXPECT_EQ(ini.at("default").at("aws_secret_access_key"), "sec ret");
  EXPECT_EQ(ini.at("profile ci").at("credential_process"), "/bin/echo x");
  EXPECT_EQ(ini.at("profile ci").size(), 1u);
}

TEST(AwsCredentialsParse, Iso8601) {
  auto t = parse_iso8601("2026-12-06T19:40:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1796586000);
  auto frac = parse_iso8601("2026-12-06T19:40:00.123+00:00");
  ASSERT_TRUE(frac);
  EXPECT_EQ(*frac, *t + std::chrono::milliseconds(123));
  EXPECT_FALSE(parse_iso8601("yesterday"));
  EXPECT_FALSE(parse_iso8601("2026-12-06T19:40:00+02:00"));
}

// Regression (fuzzing, UBSan): a year the nanosecond clock cannot hold was converted with a signed overflow
// and came back as some other time; such an Expiration is now an error that names the accepted years.
TEST(AwsCredentialsParse, Iso8601YearsTheClockCannotHoldAreRefused) {
  for (const char* text : {"0204-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2263-01-01T00:00:00Z"}) {
    const auto t = parse_iso8601(text);
    ASSERT_FALSE(t) << text;
    EXPECT_NE(t.error().message.find("1970 to 2200"), std::string::npos) << t.error().message;
  }
  EXPECT_FALSE(parse_iso8601("2026-13-01T00:00:00Z"));  // month 13 is not January next year
}

TEST(AwsCredentialsParse, ImdsContainerAndProcessJson) {
  auto imds = parse_credentials_json(
      R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIA1","SecretAccessKey":"s3cr3t",)"
      R"("Token":"tok3n","Expiration":"2026-12-06T20:00:00Z"})",
      "IMDS");
  ASSERT_TRUE(imds);
  EXPECT_EQ(imds->credentials.access_key_id, "ASIA1");
  EXPECT_EQ(imds->credentials.secret_access_key.reveal(), "s3cr3t");
  EXPECT_EQ(imds->credentials.session_token.reveal(), "tok3n");
  ASSERT_TRUE(imds->expiration);

  auto process = parse_credentials_json(
      R"({"Version":1,"AccessKeyId":"AK","SecretAccessKey":"s3cr3t","SessionToken":"tok3n"})", "process");
  ASSERT_TRUE(process);
  EXPECT_EQ(process->credentials.session_token.reveal(), "tok3n");
  EXPECT_FALSE(process->expiration);

  auto failed = parse_credentials_json(R"({"Code":"AssumeRoleUnauthorizedAccess","SecretAccessKey":"s3cr3t"})", "IMDS");
  ASSERT_FALSE(failed);
  EXPECT_TRUE(failed.error().is(errc::authorization));
  EXPECT_NE(failed.error().message.find("AssumeRoleUnauthorizedAccess"), std::string::npos);
  EXPECT_EQ(failed.error().message.find("s3cr3t"), std::string::npos);

  auto missing = parse_credentials_json(R"({"AccessKeyId":"AK"})", "container");
  ASSERT_FALSE(missing);
  EXPECT_FALSE(parse_credentials_json("not json", "container"));
}

TEST(AwsCredentialsRefresh, FiveMinutesBeforeOrHalfway) {
  const tp t0 = std::chrono::system_clock::from_time_t(1'800'000'000);
  EXPECT_EQ(refresh_time(t0, t0 + 1h), t0 + 55min);
  EXPECT_EQ(refresh_time(t0, t0 + 4min), t0 + 2min);
}

TEST(AwsCredentialsRefresh, ProviderRefreshesKeepsValidOnFailureAndFailsWhenExpired) {
  tp now = std::chrono::system_clock::from_time_t(1'800'000'000);
  int fetches = 0;
  bool fail_next = false;
  auto make = [&](int n) {
    timed_credentials t;
    t.credentials.access_key_id = "KEY" + std::to_string(n);
    t.credentials.secret_access_key = secret_string("s");
    t.expiration = now + 10min;
    return t;
  };
  auto fetch = [&]() -> result<timed_credentials> {
    if (fail_next) return fail(errc::authorization, "endpoint down");
    return make(++fetches);
  };
  credential_provider p("imds", fetch, make(0), [&] { return now; });
  EXPECT_EQ(p.current()->access_key_id, "KEY0");
  now += 4min;  // refresh at 5 minutes (halfway of 10)
  EXPECT_EQ(p.current()->access_key_id, "KEY0");
  EXPECT_EQ(fetches, 0);
  now += 2min;
  EXPECT_EQ(p.current()->access_key_id, "KEY1");
  EXPECT_EQ(fetches, 1);
  // KEY1 expires at +16 min, refresh due at +11 min.
  fail_next = true;
  now += 6min;
  auto kept = p.current();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->access_key_id, "KEY1");
  now += 10min;  // past expiry, refresh still failing
  auto expired = p.current();
  ASSERT_FALSE(expired);
  EXPECT_TRUE(expired.error().is(errc::authorization));
  EXPECT_NE(expired.error().message.find("imds"), std::string::npos);
  fail_next = false;
  EXPECT_EQ(p.current()->access_key_id, "KEY2");
}

TEST(AwsCredentialsRefresh, ParallelCallersFetchOnce) {
  tp now = std::chrono::system_clock::from_time_t(1'800'000'000);
  std::atomic<int> fetches{0};
  timed_credentials first;
  first.credentials.access_key_id = "K";
  first.credentials.secret_access_key = secret_string("s");
  first.expiration = now + 1h;
  std::atomic<tp::rep> clock_ticks{now.time_since_epoch().count()};
  credential_provider p(
      "container",
      [&]() -> result<timed_credentials> {
        ++fetches;
        timed_credentials t = first;
        t.expiration = tp(tp::duration(clock_ticks.load())) + 1h;
        return t;
      },
      first, [&] { return tp(tp::duration(clock_ticks.load())); });
  clock_ticks = (now + 56min).time_since_epoch().count();
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { EXPECT_TRUE(p.current()); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(fetches.load(), 1);
}

TEST(AwsCredentialsChain, OrderStaticThenEnvThenProfile) {
  temp_dir dir;
  const auto creds = dir.write("credentials", "[default]\naws_access_key_id=FILEKEY\naws_secret_access_key=f\n");
  credential_settings s;
  s.access_key = "CONFIGKEY";
  s.secret_key = secret_string("c");
  auto env = fake_env({{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "e"},
                       {"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_EC2_METADATA_DISABLED", "true"}});
  auto p = resolve_credentials(s, env);
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)->source(), "static");
  auto from_env = resolve_credentials({}, env);
  ASSERT_TRUE(from_env);
  EXPECT_EQ((*from_env)->source(), "env");
  EXPECT_EQ((*from_env)->current()->access_key_id, "ENVKEY");
  auto from_file = resolve_credentials(
      {}, fake_env({{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_EC2_METADATA_DISABLED", "true"}}));
  ASSERT_TRUE(from_file);
  EXPECT_EQ((*from_file)->source(), "profile");
  EXPECT_EQ((*from_file)->current()->access_key_id, "FILEKEY");
}

TEST(AwsCredentialsChain, NamedProfileFromConfigFileWithCredentialProcess) {
  temp_dir dir;
  const auto config = dir.write(
      "config", "[default]\nregion=x\n[profile ci]\ncredential_process = printf "
                "'{\"Version\":1,\"AccessKeyId\":\"PROCKEY\",\"SecretAccessKey\":\"p\",\"SessionToken\":\"t\"}'\n");
  auto p = resolve_credentials({}, fake_env({{"AWS_PROFILE", "ci"}, {"AWS_CONFIG_FILE", config},
                                             {"AWS_SHARED_CREDENTIALS_FILE", (dir.path / "none").string()},
                                             {"AWS_EC2_METADATA_DISABLED", "true"}}));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)->source(), "profile");
  auto c = (*p)->current();
  EXPECT_EQ(c->access_key_id, "PROCKEY");
  EXPECT_EQ(c->session_token.reveal(), "t");

  const auto bad = dir.write("bad", "[profile ci]\ncredential_process = sh -c 'exit 7'\n");
  auto failed = resolve_credentials(pinned("profile"),
                                    fake_env({{"AWS_PROFILE", "ci"}, {"AWS_CONFIG_FILE", bad}}));
  ASSERT_FALSE(failed);
  EXPECT_TRUE(failed.error().is(errc::authorization));
  EXPECT_NE(failed.error().message.find("exit status 7"), std::string::npos);
}

TEST(AwsCredentialsChain, ContainerSendsTheAuthorizationTokenFromItsFile) {
  temp_dir dir;
  const auto token_file = dir.write("token", "pod-identity-token\n");
  std::vector<http_exchange> seen;
  http_client http = [&](const http_exchange& ex) {
    seen.push_back(ex);
    return http_reply{200,
                      R"({"AccessKeyId":"CKEY","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z"})",
                      {}};
  };
  auto p = resolve_credentials({}, fake_env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"},
                                             {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file},
                                             {"AWS_SHARED_CREDENTIALS_FILE", (dir.path / "none").string()},
                                             {"AWS_CONFIG_FILE", (dir.path / "none").string()}}),
                               http);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)->source(), "container");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].url, "http://127.0.0.1:1/creds");
  ASSERT_EQ(seen[0].headers.size(), 1u);
  EXPECT_EQ(seen[0].headers[0].second, "pod-identity-token");
}

TEST(AwsCredentialsChain, ImdsV2TokenThenRoleThenCredentials) {
  std::vector<http_exchange> seen;
  http_client http = [&](const http_exchange& ex) -> http_reply {
    seen.push_back(ex);
    if (ex.method == "PUT") return {200, "TOKEN123", {}};
    if (ex.url.ends_with("/security-credentials/")) return {200, "backup-role\n", {}};
    return {200, R"({"Code":"Success","AccessKeyId":"IKEY","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z"})", {}};
  };
  credential_settings s;
  s.source = "imds";
  s.imds_endpoint = "http://127.0.0.1:1338/";
  auto p = resolve_credentials(s, fake_env({}), http);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].url, "http://127.0.0.1:1338/latest/api/token");
  EXPECT_EQ(seen[1].headers[0].second, "TOKEN123");
  EXPECT_EQ(seen[2].url, "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/backup-role");
  EXPECT_EQ((*p)->current()->access_key_id, "IKEY");
}

TEST(AwsCredentialsChain, ErrorsListEverySourceTriedWithoutSecrets) {
  http_client down = [](const http_exchange&) { return http_reply{0, {}, "Connection refused"}; };
  temp_dir dir;
  auto env = fake_env({{"AWS_SHARED_CREDENTIALS_FILE", (dir.path / "none").string()},
                       {"AWS_CONFIG_FILE", (dir.path / "none").string()},
                       {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"}});
  auto none = resolve_credentials({}, env, down);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(errc::authorization));  // IMDS was tried and failed
  for (const char* word : {"static:", "env:", "profile:", "container:", "imds:", "Connection refused"}) {
    EXPECT_NE(none.error().message.find(word), std::string::npos) << word << " in " << none.error().message;
  }
  auto disabled = resolve_credentials({}, fake_env({{"AWS_EC2_METADATA_DISABLED", "true"},
                                                   {"AWS_SHARED_CREDENTIALS_FILE", (dir.path / "none").string()},
                                                   {"AWS_CONFIG_FILE", (dir.path / "none").string()}}),
                                      down);
  ASSERT_FALSE(disabled);
  EXPECT_TRUE(disabled.error().is(errc::config));

  auto half = resolve_credentials({}, fake_env({{"AWS_ACCESS_KEY_ID", "K"}}), down);
  ASSERT_FALSE(half);
  EXPECT_TRUE(half.error().is(errc::config));
  EXPECT_NE(half.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);

  auto unknown = resolve_credentials(pinned("instance"), fake_env({}), down);
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(errc::config));
  EXPECT_NE(unknown.error().message.find("imds"), std::string::npos);
}

TEST(AwsCredentialsMessages, KeyIdsAreShownByTheirLastFourCharactersOnly) {
  EXPECT_EQ(masked_key_id("AKIAIOSFODNN7EXAMPLE"), "****MPLE");
  EXPECT_EQ(masked_key_id("SHORTKEY"), "****");
  EXPECT_EQ(masked_key_id(""), "****");
}

}  // namespace
}  // namespace kb::storage
