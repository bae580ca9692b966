#include "storage/azure/blob_location.hpp"

#include <gtest/gtest.h>

#include "storage/location.hpp"

namespace {

using namespace kb::storage;
using namespace kb::storage::azure;

env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

constexpr const char* key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

TEST(AzureUrl, ReferenceToolForm) {
  auto loc = parse_location("azure://backups@myaccount.blob.core.windows.net/prod/kafka");
  ASSERT_TRUE(loc) << loc.error().message;
  EXPECT_EQ(loc->kind, backend_kind::azure);
  EXPECT_EQ(loc->account, "myaccount");
  EXPECT_EQ(loc->container, "backups");
  EXPECT_EQ(loc->prefix, "prod/kafka/");
  EXPECT_EQ(loc->endpoint, "https://myaccount.blob.core.windows.net");
  EXPECT_EQ(account_endpoint(loc->account, loc->endpoint), "https://myaccount.blob.core.windows.net");
}

TEST(AzureUrl, AccountContainerFormWithEmulatorEndpoint) {
  auto loc = parse_location("azure://devstoreaccount1/backups/a/b?endpoint=http://127.0.0.1:10000");
  ASSERT_TRUE(loc) << loc.error().message;
  EXPECT_EQ(loc->account, "devstoreaccount1");
  EXPECT_EQ(loc->container, "backups");
  EXPECT_EQ(loc->prefix, "a/b/");
  EXPECT_EQ(account_endpoint(loc->account, loc->endpoint), "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(loc->to_url(), "azure://devstoreaccount1/backups/a/b/?endpoint=http://127.0.0.1:10000");
  auto again = parse_location(loc->to_url());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->prefix, "a/b/");
}

TEST(AzureUrl, DefaultAndExplicitEndpoints) {
  EXPECT_EQ(account_endpoint("acct", ""), "https://acct.blob.core.windows.net");
  EXPECT_EQ(account_endpoint("acct", "http://127.0.0.1:1/acct/"), "http://127.0.0.1:1/acct");
  EXPECT_EQ(account_endpoint("acct", "https://acct.blob.core.chinacloudapi.cn"),
            "https://acct.blob.core.chinacloudapi.cn");
}

TEST(AzureUrl, BadFormsNameTheForms) {
  for (const char* bad : {"azure://", "azure://UPPER/c", "azure://acct", "azure://acct/x", "azure://acct/bad--name",
                          "azure://c@host/p", "azure://acct/cont?endpoint=ftp://x", "azure://acct/cont?key=1"}) {
    auto loc = parse_location(bad);
    ASSERT_FALSE(loc) << bad;
    EXPECT_TRUE(loc.error().is(kb::errc::invalid_argument)) << bad;
  }
  auto loc = parse_location("azure://acct/x");
  EXPECT_NE(loc.error().message.find("azure://ACCOUNT/CONTAINER/prefix"), std::string::npos);
}

TEST(AzureCredentials, AccountKeyFromEnvironment) {
  auto o = resolve_blob_options("acct", "cont", "", "", {}, env_of({{"AZURE_STORAGE_KEY", key}}));
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->auth, auth_mode::shared_key);
  EXPECT_NE(o->credential_source.find("AZURE_STORAGE_KEY"), std::string::npos);
}

TEST(AzureCredentials, ConfigWinsAndSasIsUsed) {
  azure_settings s;
  s.sas_token = secret_string("sv=2021-12-02&sig=abc");
  auto o = resolve_blob_options("acct", "cont", "", "", s, env_of({{"AZURE_STORAGE_KEY", key}}));
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->auth, auth_mode::sas);
  EXPECT_EQ(o->credential_source, "SAS token (storage.sas_token)");
}

TEST(AzureCredentials, TwoSourcesAreAConfigError) {
  azure_settings s;
  s.sas_token = secret_string("sv=1&sig=x");
  s.account_key = secret_string(key);
  auto o = resolve_blob_options("acct", "cont", "", "", s, env_of({}));
  ASSERT_FALSE(o);
  EXPECT_TRUE(o.error().is(kb::errc::config));
}

TEST(AzureCredentials, NothingConfiguredTriesManagedIdentityAndSaysWhatWasMissing) {
  azure_settings s;
  int calls = 0;
  s.http = [&](const token_request& r) {
    ++calls;
    EXPECT_EQ(r.method, "GET");
    http_response_data out;
    out.failure = http_failure::connect;
    out.failure_text = "connection refused";
    return out;
  };
  auto o = resolve_blob_options("acct", "cont", "", "", s, env_of({}));
  ASSERT_FALSE(o);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(o.error().is(kb::errc::connect));
  EXPECT_NE(o.error().message.find("AZURE_STORAGE_KEY"), std::string::npos);
  EXPECT_NE(o.error().message.find("managed identity"), std::string::npos);
  EXPECT_NE(o.error().message.find("AZURE_FEDERATED_TOKEN_FILE"), std::string::npos);
}

}  // namespace
