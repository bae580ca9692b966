// SharedKey vectors computed by Microsoft's azure-storage-blob SDK (shared_key_vectors.py).
#include "storage/azure/shared_key.hpp"

#include <gtest/gtest.h>

namespace {

using kb::storage::azure::shared_key_authorization;
using kb::storage::azure::shared_key_string_to_sign;
using kb::storage::azure::signing_request;

constexpr std::string_view account = "devstoreaccount1";
constexpr std::string_view key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
constexpr std::string_view date = "Sun, 06 Dec 2026 21:00:00 GMT";

TEST(AzureSharedKey, PutBlobWithConditionAndScope) {
  signing_request r;
  r.method = "PUT";
  r.path = "/devstoreaccount1/backups/prod/a%20b/seg.kbs";
  r.headers = {{"x-ms-date", std::string(date)},     {"x-ms-version", "2021-12-02"},
               {"x-ms-blob-type", "BlockBlob"},      {"If-None-Match", "*"},
               {"x-ms-encryption-scope", "scope1"}};
  r.content_length = 5;
  EXPECT_EQ(shared_key_string_to_sign(r, account),
            "PUT\n\n\n5\n\n\n\n\n\n*\n\n\nx-ms-blob-type:BlockBlob\nx-ms-date:Sun, 06 Dec 2026 21:00:00 GMT\n"
            "x-ms-encryption-scope:scope1\nx-ms-version:2021-12-02\n"
            "/devstoreaccount1/devstoreaccount1/backups/prod/a%20b/seg.kbs");
  auto auth = shared_key_authorization(r, account, key);
  ASSERT_TRUE(auth) << auth.error().message;
  EXPECT_EQ(*auth, "SharedKey devstoreaccount1:SWsBH/GgzQ3cNl2TQXtRYesmYT+KtHAy+R4UPpS8npo=");
}

TEST(AzureSharedKey, ListSortsDecodedQuery) {
  signing_request r;
  r.method = "GET";
  r.path = "/devstoreaccount1/backups";
  r.query = {{"restype", "container"}, {"comp", "list"}, {"prefix", "prod/"}, {"marker", "abc"},
             {"maxresults", "1000"}};
  r.headers = {{"x-ms-version", "2021-12-02"}, {"x-ms-date", std::string(date)}};
  auto auth = shared_key_authorization(r, account, key);
  ASSERT_TRUE(auth);
  EXPECT_EQ(*auth, "SharedKey devstoreaccount1:/aUSp0zuS6i4t2PqawDtaLLPpO2BGftTZgNsxGWl9QQ=");
}

TEST(AzureSharedKey, ZeroContentLengthIsSignedEmpty) {
  signing_request r;
  r.method = "PUT";
  r.path = "/devstoreaccount1/backups/k";
  r.query = {{"comp", "block"}, {"blockid", "YWJjZA=="}};
  r.headers = {{"x-ms-date", std::string(date)}, {"x-ms-version", "2021-12-02"}};
  r.content_length = 0;
  auto auth = shared_key_authorization(r, account, key);
  ASSERT_TRUE(auth);
  EXPECT_EQ(*auth, "SharedKey devstoreaccount1:ioApZ9Qb3E+2KJSA30JDgNiwf1x7o7HyJfgsFEuDjeE=");
}

TEST(AzureSharedKey, BadKeyIsConfigErrorWithoutTheKey) {
  signing_request r;
  r.method = "GET";
  r.path = "/a/b";
  auto auth = shared_key_authorization(r, account, "not base64 secret!");
  ASSERT_FALSE(auth);
  EXPECT_TRUE(auth.error().is(kb::errc::config));
  EXPECT_EQ(auth.error().message.find("secret"), std::string::npos);
  EXPECT_NE(auth.error().message.find("storage.account_key"), std::string::npos);
}

}  // namespace
