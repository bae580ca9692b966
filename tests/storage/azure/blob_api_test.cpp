// The Azure request side's error mapping: each status / service error code to its errc and a
// message naming the object and the fix; no request is sent.
#include "storage/azure/blob_api.hpp"

#include <gtest/gtest.h>

namespace {

using kb::errc;
using namespace kb::storage;
using namespace kb::storage::azure;

blob_options options_for(auth_mode auth) {
  blob_options o;
  o.account = "acct";
  o.container = "backups";
  o.prefix = "prod/";
  o.endpoint = "http://127.0.0.1:10000/acct";
  o.auth = auth;
  o.account_key = secret_string("c2VjcmV0LWtleQ==");
  o.sas_token = secret_string("?sv=2021&sig=SECRETSIG");
  o.credential_source = "account key";
  return o;
}

http_response_data answer(long status, std::string body = {}, http_headers headers = {}) {
  http_response_data r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string error_xml(std::string_view code, std::string_view message) {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + std::string(code) + "</Code><Message>" +
         std::string(message) + "</Message></Error>";
}

TEST(AzureBlobApi, PathsAndDescription) {
  const blob_api api(options_for(auth_mode::shared_key));
  EXPECT_EQ(api.describe(), "azure://acct/backups/prod/");
  EXPECT_EQ(api.container_path(), "/acct/backups");
  EXPECT_EQ(api.blob_path("a b/c"), "/acct/backups/prod/a%20b/c");
}

TEST(AzureBlobApi, SasTokenLosesItsQuestionMark) {
  const blob_api api(options_for(auth_mode::sas));
  EXPECT_EQ(api.options().sas_token.reveal(), "sv=2021&sig=SECRETSIG");
  EXPECT_TRUE(api.options().clock);
}

TEST(AzureBlobApi, RefusedIsAuthorizationWithTheFixPerAuthMode) {
  const blob_api key_api(options_for(auth_mode::shared_key));
  auto e = key_api.to_error(answer(403, error_xml("AuthenticationFailed", "Server failed")), "PUT", "a/b");
  EXPECT_TRUE(e.is(errc::authorization));
  EXPECT_NE(e.message.find("PUT 'a/b' in azure://acct/backups/prod/"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("HTTP 403 AuthenticationFailed: Server failed"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("storage.account_key"), std::string::npos) << e.message;

  const blob_api sas_api(options_for(auth_mode::sas));
  auto s = sas_api.to_error(answer(403, error_xml("AuthenticationFailed", "Signature")), "GET", "k");
  EXPECT_TRUE(s.is(errc::authorization));
  EXPECT_NE(s.message.find("set storage.sas_token"), std::string::npos) << s.message;
  EXPECT_EQ(s.message.find("SECRETSIG"), std::string::npos) << "the SAS signature must not appear";

  auto bearer = options_for(auth_mode::bearer);
  const blob_api ad_api(std::move(bearer));
  auto b = ad_api.to_error(answer(403, error_xml("AuthorizationPermissionMismatch", "no")), "GET", "k");
  EXPECT_TRUE(b.is(errc::authorization));
  EXPECT_NE(b.message.find("Storage Blob Data Contributor"), std::string::npos) << b.message;
  auto t = ad_api.to_error(answer(401, error_xml("InvalidAuthenticationInfo", "no")), "GET", "k");
  EXPECT_NE(t.message.find("tenant_id"), std::string::npos) << t.message;
}

TEST(AzureBlobApi, NotFoundKinds) {
  const blob_api api(options_for(auth_mode::shared_key));
  auto container = api.to_error(answer(404, error_xml("ContainerNotFound", "gone")), "GET", "k");
  EXPECT_TRUE(container.is(errc::config));
  EXPECT_NE(container.message.find("container 'backups' does not exist"), std::string::npos) << container.message;
  auto account = api.to_error(answer(404, error_xml("ResourceNotFound", "gone")), "GET", "");
  EXPECT_TRUE(account.is(errc::config));
  EXPECT_NE(account.message.find("GET azure://acct/backups/prod/"), std::string::npos) << account.message;
  auto blob = api.to_error(answer(404, error_xml("BlobNotFound", "gone")), "GET", "x/y");
  EXPECT_TRUE(blob.is(errc::not_found));
  EXPECT_EQ(blob.message, "object 'x/y' in azure://acct/backups/prod/ not found");
}

TEST(AzureBlobApi, HeadAnswerTakesTheCodeFromTheHeader) {
  const blob_api api(options_for(auth_mode::shared_key));
  auto e = api.to_error(answer(404, {}, {{"x-ms-error-code", "ContainerNotFound"}}), "HEAD", "k");
  EXPECT_TRUE(e.is(errc::config)) << e.message;
}

TEST(AzureBlobApi, PreconditionRangeHeaderAndOther) {
  const blob_api api(options_for(auth_mode::shared_key));
  EXPECT_TRUE(api.to_error(answer(409, error_xml("BlobAlreadyExists", "x")), "PUT", "k").is(errc::conflict));
  EXPECT_TRUE(api.to_error(answer(412, {}), "PUT", "k").is(errc::conflict));
  EXPECT_TRUE(api.to_error(answer(416, {}), "GET", "k").is(errc::invalid_argument));
  auto header = api.to_error(answer(400, error_xml("InvalidHeaderValue", "bad")), "PUT", "k");
  EXPECT_TRUE(header.is(errc::config));
  EXPECT_NE(header.message.find("encryption_scope"), std::string::npos) << header.message;
  auto other = api.to_error(answer(500, {}), "DELETE", "k");
  EXPECT_TRUE(other.is(errc::io));
  EXPECT_EQ(other.message, "DELETE 'k' in azure://acct/backups/prod/ failed: HTTP 500");
}

// A 409 whose code is not about the blob's existence is a refusal, not a lost race: Azurite's
// in-memory store at its size limit answered 409 and was reported as "the object already exists".
TEST(AzureBlobApi, ConflictOnlyWhenTheCodeSaysTheBlobExistsOrChanged) {
  const blob_api api(options_for(auth_mode::shared_key));
  EXPECT_TRUE(api.to_error(answer(409, {}, {{"x-ms-error-code", "BlobAlreadyExists"}}), "HEAD", "k")
                  .is(errc::conflict));
  auto full = api.to_error(
      answer(409, error_xml("MemoryExtentStoreAtSizeLimit", "Cannot add an extent chunk to the in-memory store.")),
      "PUT", "k");
  EXPECT_TRUE(full.is(errc::io)) << full.message;
  EXPECT_EQ(full.message.find("already exists"), std::string::npos) << full.message;
  EXPECT_NE(full.message.find("--extentMemoryLimit"), std::string::npos) << full.message;
  auto lease = api.to_error(answer(409, error_xml("LeaseAlreadyPresent", "There is already a lease")), "PUT", "k");
  EXPECT_TRUE(lease.is(errc::io)) << lease.message;
  EXPECT_EQ(lease.message,
            "PUT 'k' in azure://acct/backups/prod/ was refused: HTTP 409 LeaseAlreadyPresent: There is already a "
            "lease (the blob or its container is in a state that does not allow it)");
}

TEST(AzureBlobApi, TransportFailureNamesTheEndpoint) {
  const blob_api api(options_for(auth_mode::shared_key));
  http_response_data r;
  r.failure = http_failure::connect;
  r.failure_text = "Connection refused";
  auto e = api.to_error(r, "GET", "k");
  EXPECT_FALSE(e.is(errc::not_found));
  EXPECT_NE(e.message.find("127.0.0.1:10000"), std::string::npos) << e.message;
}

}  // namespace
