#include "storage/azure/ad_token.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "base/token_time.hpp"

namespace {

using namespace kb::storage;
using namespace kb::storage::azure;
using clock_type = std::chrono::system_clock;

env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

http_response_data ok_json(std::string body) {
  http_response_data r;
  r.status = 200;
  r.body = std::move(body);
  return r;
}

TEST(AzureToken, ParsesExpiresInAndExpiresOn) {
  const auto now = clock_type::time_point(std::chrono::seconds(1000));
  auto a = parse_token_json(R"({"access_token":"tok","expires_in":3600,"token_type":"Bearer"})", now, "x");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->token.reveal(), "tok");
  EXPECT_EQ(a->expires, now + std::chrono::seconds(3600));
  auto b = parse_token_json(R"({"access_token":"tok","expires_on":"5000"})", now, "x");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->expires, clock_type::time_point(std::chrono::seconds(5000)));
  auto bad = parse_token_json(R"({"token_type":"Bearer"})", now, "x");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(kb::errc::protocol));
}

TEST(AzureToken, HugeLifetimesAreBoundedNotOverflowed) {
  // An identity server's number must not overflow the clock (UBSan flagged expires_on 99999999999).
  const auto now = clock_type::time_point(std::chrono::seconds(1'800'000'000));
  const auto ten_years = std::chrono::seconds(kb::max_token_lifetime_s);
  auto on = parse_token_json(R"({"access_token":"t","expires_on":"99999999999"})", now, "x");
  ASSERT_TRUE(on);
  EXPECT_EQ(on->expires, now + ten_years);
  auto in = parse_token_json(R"({"access_token":"t","expires_in":1e300})", now, "x");
  ASSERT_TRUE(in);
  EXPECT_EQ(in->expires, now + ten_years);
  auto negative = parse_token_json(R"({"access_token":"t","expires_in":-40})", now, "x");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->expires, now);
}

TEST(AzureToken, ClientSecretFromEnvironmentIsPostedAsClientCredentials) {
  std::vector<token_request> seen;
  auto http = [&](const token_request& r) {
    seen.push_back(r);
    return ok_json(R"({"access_token":"tok-1","expires_in":3600})");
  };
  auto p = resolve_ad_token({}, env_of({{"AZURE_TENANT_ID", "t1"}, {"AZURE_CLIENT_ID", "c1"},
                                         {"AZURE_CLIENT_SECRET", "s3cr=t&x"},
                                         {"AZURE_AUTHORITY_HOST", "http://127.0.0.1:9/"}}),
                            http);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].url, "http://127.0.0.1:9/t1/oauth2/v2.0/token");
  EXPECT_EQ(seen[0].body, "grant_type=client_credentials&client_id=c1&client_secret=s3cr%3Dt%26x&scope=https%3A%2F%2F"
                          "storage.azure.com%2F.default");
  auto tok = (*p)->current();
  ASSERT_TRUE(tok);
  EXPECT_EQ(*tok, "tok-1");
  EXPECT_NE((*p)->source().find("client secret"), std::string::npos);
}

TEST(AzureToken, WorkloadIdentitySendsTheFederatedTokenAsAssertionAndRereadsIt) {
  const auto file = std::filesystem::temp_directory_path() / "kb-az-wi-token";
  { std::ofstream(file) << "jwt-one\n"; }
  std::vector<token_request> seen;
  auto now = clock_type::time_point(std::chrono::seconds(1'000'000));
  auto http = [&](const token_request& r) {
    seen.push_back(r);
    return ok_json(R"({"access_token":"tok","expires_in":600})");
  };
  ad_settings s;
  s.source = "workload_identity";
  auto p = resolve_ad_token(s, env_of({{"AZURE_TENANT_ID", "t"}, {"AZURE_CLIENT_ID", "c"},
                                       {"AZURE_FEDERATED_TOKEN_FILE", file.string()}}),
                            http, [&] { return now; });
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0].body.find("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"),
            std::string::npos);
  EXPECT_NE(seen[0].body.find("client_assertion=jwt-one&"), std::string::npos);
  // Past the refresh point (halfway for a 10-minute token) the file is read again.
  { std::ofstream(file) << "jwt-two"; }
  now += std::chrono::seconds(301);
  ASSERT_TRUE((*p)->current());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[1].body.find("client_assertion=jwt-two&"), std::string::npos);
  std::filesystem::remove(file);
}

TEST(AzureToken, PinnedWorkloadIdentityWithoutVariablesIsAConfigError) {
  ad_settings s;
  s.source = "workload_identity";
  auto p = resolve_ad_token(s, env_of({}), [](const token_request&) { return http_response_data{}; });
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(kb::errc::config));
  EXPECT_NE(p.error().message.find("AZURE_FEDERATED_TOKEN_FILE"), std::string::npos);
}

TEST(AzureToken, ManagedIdentityAsksImdsWithMetadataHeader) {
  std::vector<token_request> seen;
  auto http = [&](const token_request& r) {
    seen.push_back(r);
    return ok_json(R"({"access_token":"mi","expires_on":"99999999999"})");
  };
  auto p = resolve_ad_token({}, env_of({{"AZURE_IMDS_ENDPOINT", "http://127.0.0.1:5"}, {"AZURE_CLIENT_ID", "uami"}}),
                            http);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].url, "http://127.0.0.1:5/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
                         "https%3A%2F%2Fstorage.azure.com&client_id=uami");
  ASSERT_EQ(seen[0].headers.size(), 1u);
  EXPECT_EQ(seen[0].headers[0].first, "Metadata");
}

TEST(AzureToken, RefusalIsAuthorizationWithoutTheSecret) {
  auto http = [](const token_request&) {
    http_response_data r;
    r.status = 401;
    r.body = R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.\r\nTrace"})";
    return r;
  };
  auto p = resolve_ad_token({}, env_of({{"AZURE_TENANT_ID", "t"}, {"AZURE_CLIENT_ID", "c"},
                                         {"AZURE_CLIENT_SECRET", "very-secret-value"}}),
                            http);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(kb::errc::authorization));
  EXPECT_NE(p.error().message.find("invalid_client"), std::string::npos);
  EXPECT_NE(p.error().message.find("client_secret"), std::string::npos);
  EXPECT_EQ(p.error().message.find("very-secret-value"), std::string::npos);
}

}  // namespace
