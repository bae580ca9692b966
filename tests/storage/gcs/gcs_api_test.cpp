// Unit tests of the GCS API's request side: reading JSON API error bodies, the answer → kb::error
// mapping (code, the object, the fix), and execute's endpoint trimming and 308 acceptance.
#include <gtest/gtest.h>

#include "storage/gcs/gcs_api.hpp"

namespace kb::storage::gcs {
namespace {

using namespace std::chrono_literals;

http_response_data answer(long status, std::string body = {}) {
  http_response_data r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

gcs_api api_with(http_send_fn http = {}) {
  gcs_options o;
  o.bucket = "bkt";
  o.prefix = "prod/";
  o.endpoint = "http://127.0.0.1:4443//";
  o.http = http ? std::move(http) : [](const http_request&) { return answer(599, "unused"); };
  o.initial_backoff = 1ms;
  o.max_backoff = 2ms;
  o.retry_budget = 5s;
  return gcs_api(std::move(o));
}

TEST(GcsApiError, ReadsMessageAndFirstReason) {
  const auto e = parse_api_error(
      R"({"error":{"code":400,"message":"Bad crc32c","errors":[{"reason":"invalid"},{"reason":"other"}]}})");
  EXPECT_EQ(e.message, "Bad crc32c");
  EXPECT_EQ(e.reason, "invalid");
}

TEST(GcsApiError, ANonJsonBodyIsItsFirst200CharactersWithoutTrailingNewlines) {
  EXPECT_EQ(parse_api_error("Service Unavailable\r\n").message, "Service Unavailable");
  EXPECT_EQ(parse_api_error(std::string(300, 'x')).message.size(), 200u);
  const auto no_error = parse_api_error(R"({"kind":"storage#object"})");
  EXPECT_TRUE(no_error.message.empty());
  EXPECT_TRUE(no_error.reason.empty());
}

TEST(GcsApiError, StatusesMapToCodesNamingTheObjectAndTheFix) {
  const gcs_api api = api_with();
  EXPECT_EQ(api.options().endpoint, "http://127.0.0.1:4443");  // trailing '/' trimmed
  const call get{"GET", "u", {}, {}, "a/b"};
  struct row {
    long status;
    std::string body;
    errc code;
    std::string says;
  };
  const row rows[] = {
      {401, R"({"error":{"message":"Invalid Credentials"}})", errc::authorization, "no credentials"},
      {403, R"({"error":{"message":"denied"}})", errc::authorization, "roles/storage.objectAdmin on bucket bkt"},
      {404, R"({"error":{"message":"No such object"}})", errc::not_found, "object 'a/b' in gs://bkt/prod/ not found"},
      {404, R"({"error":{"message":"The specified bucket does not exist."}})", errc::config, "storage.bucket"},
      {412, R"({"error":{"message":"Precondition Failed"}})", errc::conflict, "already exists"},
      {409, "", errc::conflict, "a precondition failed (HTTP 409)"},
      {416, "", errc::invalid_argument, "past the end"},
      {400, R"({"error":{"message":"Provided CRC32C \"x\" doesn't match","errors":[{"reason":"invalid"}]}})",
       errc::io, "damaged on the way"},
      {400, R"({"error":{"message":"Bad Request","errors":[{"reason":"required"}]}})", errc::io,
       "GET 'a/b' in gs://bkt/prod/ failed: HTTP 400: Bad Request"},
      {500, "oops", errc::io, "HTTP 500: oops"},
  };
  for (const auto& r : rows) {
    const kb::error e = api.to_error(answer(r.status, r.body), get);
    EXPECT_TRUE(e.is(r.code)) << r.status << ": " << e.message;
    EXPECT_NE(e.message.find(r.says), std::string::npos) << r.status << ": " << e.message;
  }
  // A bucket-level call's 404 is the bucket, whatever the message says.
  const call list{"GET", "u", {}, {}, {}, true};
  const kb::error missing = api.to_error(answer(404, "Not Found"), list);
  EXPECT_TRUE(missing.is(errc::config)) << missing.message;
  EXPECT_NE(missing.message.find("gcloud storage buckets create gs://bkt"), std::string::npos) << missing.message;
}

TEST(GcsApiError, ATransportFailureNamesTheEndpointAndItsSetting) {
  const gcs_api api = api_with();
  http_response_data r;
  r.failure = http_failure::connect;
  r.failure_text = "connection refused";
  const kb::error e = api.to_error(r, call{"PUT", "u", {}, {}, "k"});
  EXPECT_NE(e.message.find("GCS endpoint http://127.0.0.1:4443"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("STORAGE_EMULATOR_HOST"), std::string::npos) << e.message;
}

TEST(GcsApi, ExecuteAccepts308OnlyForResumableChunks) {
  int sent = 0;
  gcs_api api = api_with([&sent](const http_request&) {
    ++sent;
    return answer(308);
  });
  call chunk{"PUT", "http://127.0.0.1:4443/session", {}, {}, "k", false, true};
  auto ok = api.execute(chunk);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 308);
  EXPECT_EQ(sent, 1);
  call plain{"GET", "http://127.0.0.1:4443/o", {}, {}, "k"};
  auto refused = api.execute(plain);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::io)) << refused.error().message;
  EXPECT_EQ(sent, 2);  // 308 is not retried
}

}  // namespace
}  // namespace kb::storage::gcs
