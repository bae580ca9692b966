// Unit tests of STS for the credential chain: the AssumeRoleWithWebIdentity and AssumeRole
// requests (the signature checked against botocore's for the same inputs), response parsing,
// the endpoint choice, and the chain's web identity, role_arn + source_profile and IMDSv1 paths.
#include "storage/aws_sts.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "storage/location.hpp"

namespace kb::storage {
namespace {

using namespace std::chrono_literals;

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("kb-awssts-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
  static inline std::atomic<int> counter_{0};
};

std::string header(const http_exchange& ex, std::string_view name) {
  for (const auto& [k, v] : ex.headers) {
    if (k == name) return v;
  }
  return {};
}

constexpr std::string_view sts_ok = R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <SessionToken>SESSION&amp;TOKEN</SessionToken>
      <SecretAccessKey>SECRETKEY</SecretAccessKey>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
      <AccessKeyId>ASIAWEBIDENTITYKEY01</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>)";

TEST(AwsSts, WebIdentityRequestIsAnUnsignedFormPost) {
  auto ex = sts_web_identity_request("http://127.0.0.1:5000", "arn:aws:iam::123456789012:role/backup", "kb-1",
                                     secret_string("a.b+c/d="));
  EXPECT_EQ(ex.method, "POST");
  EXPECT_EQ(ex.url, "http://127.0.0.1:5000/");
  EXPECT_EQ(ex.body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%"
            "2Fbackup&RoleSessionName=kb-1&WebIdentityToken=a.b%2Bc%2Fd%3D");
  EXPECT_EQ(header(ex, "Authorization"), "");
}

TEST(AwsSts, AssumeRoleSignatureMatchesBotocore) {
  aws_credentials source;
  source.access_key_id = "AKIDEXAMPLE";
  source.secret_access_key = secret_string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  source.session_token = secret_string("SESSIONTOKEN");
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 6;
  tm.tm_hour = 12;
  const auto now = std::chrono::system_clock::from_time_t(::timegm(&tm));
  auto ex = sts_assume_role_request("http://127.0.0.1:5000/", "eu-west-1", "arn:aws:iam::123456789012:role/backup",
                                    "kb-test", source, now);
  EXPECT_EQ(ex.body,
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbackup&"
            "RoleSessionName=kb-test");
  EXPECT_EQ(header(ex, "x-amz-date"), "20261206T120000Z");
  EXPECT_EQ(header(ex, "x-amz-security-token"), "SESSIONTOKEN");
  // botocore's SigV4Auth("sts", "eu-west-1") on the same request, body and time.
  EXPECT_EQ(header(ex, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/eu-west-1/sts/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
            "Signature=09788e44649ff5c950ca2b033b5856c3dd00fbd28e56fc8358836d849cd02336");
}

TEST(AwsSts, ParsesCredentialsAndErrorsWithoutSecrets) {
  auto t = parse_sts_response(200, sts_ok, "STS");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->credentials.access_key_id, "ASIAWEBIDENTITYKEY01");
  EXPECT_EQ(t->credentials.secret_access_key.reveal(), "SECRETKEY");
  EXPECT_EQ(t->credentials.session_token.reveal(), "SESSION&TOKEN");
  ASSERT_TRUE(t->expiration);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t->expiration), 4070908800);

  auto denied = parse_sts_response(
      403,
      "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform "
      "sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>",
      "STS AssumeRoleWithWebIdentity for role R");
  ASSERT_FALSE(denied);
  EXPECT_TRUE(denied.error().is(errc::authorization));
  EXPECT_EQ(denied.error().message,
            "STS AssumeRoleWithWebIdentity for role R answered HTTP 403: AccessDenied: Not authorized to perform "
            "sts:AssumeRoleWithWebIdentity");
  auto nested = parse_sts_response(
      403, "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error></Errors>"
           "</ErrorResponse>",
      "STS");
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().message, "STS answered HTTP 403: SignatureDoesNotMatch: m");
  EXPECT_FALSE(parse_sts_response(200, "<x/>", "STS"));
  EXPECT_FALSE(parse_sts_response(502, "bad gateway", "STS"));
}

TEST(AwsSts, EndpointFromConfigThenEnvironmentThenRegion) {
  auto env = fake_env({{"AWS_ENDPOINT_URL_STS", "http://sts.local:1"}, {"AWS_ENDPOINT_URL", "http://all.local:2"}});
  EXPECT_EQ(sts_endpoint("http://cfg:3", "eu-west-1", env), "http://cfg:3");
  EXPECT_EQ(sts_endpoint("", "eu-west-1", env), "http://sts.local:1");
  EXPECT_EQ(sts_endpoint("", "eu-west-1", fake_env({{"AWS_ENDPOINT_URL", "http://all.local:2"}})), "http://all.local:2");
  EXPECT_EQ(sts_endpoint("", "eu-west-1", fake_env({})), "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(sts_endpoint("", "", fake_env({})), "https://sts.us-east-1.amazonaws.com");
}

TEST(AwsStsChain, WebIdentityReadsTheTokenFileOnEveryFetch) {
  temp_dir dir;
  const auto token = dir.write("token", "jwt-one\n");
  std::vector<http_exchange> seen;
  http_client http = [&](const http_exchange& ex) {
    seen.push_back(ex);
    return http_reply{200, std::string(sts_ok), {}};
  };
  credential_settings s;
  s.region = "eu-west-1";
  auto p = resolve_credentials(s,
                               fake_env({{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                                         {"AWS_WEB_IDENTITY_TOKEN_FILE", token},
                                         {"AWS_ROLE_SESSION_NAME", "sess"},
                                         {"AWS_SHARED_CREDENTIALS_FILE", (dir.path / "none").string()},
                                         {"AWS_CONFIG_FILE", (dir.path / "none").string()}}),
                               http);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)->source(), "web_identity");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].url, "https://sts.eu-west-1.amazonaws.com/");
  EXPECT_NE(seen[0].body.find("WebIdentityToken=jwt-one"), std::string::npos);
  EXPECT_NE(seen[0].body.find("RoleSessionName=sess"), std::string::npos);
  EXPECT_EQ((*p)->current()->session_token.reveal(), "SESSION&TOKEN");

  auto half = resolve_credentials({}, fake_env({{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                                                {"AWS_SHARED_CREDENTIALS_FILE", (dir.path / "none").string()},
                                                {"AWS_CONFIG_FILE", (dir.path / "none").string()}}),
                                  http);
  ASSERT_FALSE(half);
  EXPECT_TRUE(half.error().is(errc::config));
  EXPECT_NE(half.error().message.find("AWS_WEB_IDENTITY_TOKEN_FILE is not set"), std::string::npos);

  const auto empty = dir.write("empty", "");
  credential_settings pin;
  pin.source = "web_identity";
  auto bad = resolve_credentials(pin, fake_env({{"AWS_ROLE_ARN", "r"}, {"AWS_WEB_IDENTITY_TOKEN_FILE", empty}}), http);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::authorization));
  EXPECT_NE(bad.error().message.find("web_identity: the web identity token file"), std::string::npos);
}

TEST(AwsStsChain, ProfileRoleArnAssumedWithSourceProfileKeys) {
  temp_dir dir;
  const auto creds = dir.write("credentials", "[base]\naws_access_key_id=AKIABASEPROFILEKEY1\naws_secret_access_key=b\n");
  const auto config = dir.write("config",
                                "[profile backup]\nrole_arn = arn:aws:iam::1:role/backup\nsource_profile = base\n"
                                "region = eu-central-1\n[profile loop]\nrole_arn=r\nsource_profile=loop\n");
  std::vector<http_exchange> seen;
  http_client http = [&](const http_exchange& ex) {
    seen.push_back(ex);
    return http_reply{200, std::string(sts_ok), {}};
  };
  auto env = fake_env({{"AWS_PROFILE", "backup"}, {"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config},
                       {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000"}});
  auto p = resolve_credentials({}, env, http);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)->source(), "profile");
  EXPECT_EQ((*p)->current()->access_key_id, "ASIAWEBIDENTITYKEY01");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].url, "http://127.0.0.1:5000/");
  EXPECT_NE(seen[0].body.find("Action=AssumeRole&"), std::string::npos);
  EXPECT_NE(header(seen[0], "Authorization").find("Credential=AKIABASEPROFILEKEY1/"), std::string::npos);
  EXPECT_NE(header(seen[0], "Authorization").find("/eu-central-1/sts/aws4_request"), std::string::npos);

  // A profile that is its own source without keys fails, naming the profile, not looping.
  auto loop = resolve_credentials(
      {}, fake_env({{"AWS_PROFILE", "loop"}, {"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config},
                    {"AWS_EC2_METADATA_DISABLED", "true"}}),
      http);
  ASSERT_FALSE(loop);
  EXPECT_TRUE(loop.error().is(errc::authorization));
  EXPECT_NE(loop.error().message.find("profile 'loop' is its own source_profile"), std::string::npos);
  EXPECT_EQ(seen.size(), 1u);
}

TEST(AwsStsChain, ImdsV1OnlyWhenAllowed) {
  std::vector<http_exchange> seen;
  http_client v1_only = [&](const http_exchange& ex) -> http_reply {
    seen.push_back(ex);
    if (ex.method == "PUT") return {403, "", {}};
    if (ex.url.ends_with("/security-credentials/")) return {200, "role\n", {}};
    return {200, R"({"Code":"Success","AccessKeyId":"IKEY","SecretAccessKey":"s","Token":"t"})", {}};
  };
  credential_settings s;
  s.source = "imds";
  s.imds_endpoint = "http://127.0.0.1:1338";
  auto refused = resolve_credentials(s, fake_env({}), v1_only);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("answered HTTP 403 (IMDSv1 is off; storage.imds_v1: true allows it)"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(seen.size(), 1u);

  s.imds_v1 = true;
  seen.clear();
  auto allowed = resolve_credentials(s, fake_env({}), v1_only);
  ASSERT_TRUE(allowed) << allowed.error().message;
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen[1].headers.empty());
  EXPECT_TRUE(seen[2].headers.empty());
  EXPECT_EQ((*allowed)->current()->access_key_id, "IKEY");
}

TEST(AwsStsChain, S3EndpointAndRegionFromTheEnvironment) {
  location where;
  where.kind = backend_kind::s3;
  where.bucket = "b";
  store_settings settings;
  settings.access_key = "AKIAEXAMPLEEXAMPLE1";
  settings.secret_key = secret_string("s");
  auto o = resolve_s3_options(where, settings,
                              fake_env({{"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:7070"},
                                        {"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
                                        {"AWS_DEFAULT_REGION", "eu-west-3"}}));
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:7070");
  EXPECT_TRUE(o->path_style);
  EXPECT_EQ(o->region, "eu-west-3");
  auto global = resolve_s3_options(where, settings,
                                   fake_env({{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"}, {"AWS_REGION", "ap-south-1"},
                                             {"AWS_DEFAULT_REGION", "eu-west-3"}}));
  ASSERT_TRUE(global);
  EXPECT_EQ(global->endpoint, "http://127.0.0.1:1");
  EXPECT_EQ(global->region, "ap-south-1");
  where.endpoint = "http://cfg:2";
  auto configured = resolve_s3_options(where, settings, fake_env({{"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:7070"}}));
  ASSERT_TRUE(configured);
  EXPECT_EQ(configured->endpoint, "http://cfg:2");
}

}  // namespace
}  // namespace kb::storage
