// Unit tests of SASL/OAUTHBEARER: the RFC 7628 client message and error acknowledgement, the
// client-credentials request (form and Basic auth as Kafka's HttpAccessTokenRetriever sends
// them), token-endpoint answers, JWT expiry, and the token cache's refresh at 80% of its life.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/base64.hpp"
#include "net/oauth_token.hpp"
#include "net/sasl.hpp"
#include "net/sasl_oauthbearer.hpp"

namespace kb::net {
namespace {

using namespace std::chrono_literals;
using tp = std::chrono::system_clock::time_point;

std::string text(const byte_vector& b) { return std::string(b.begin(), b.end()); }

std::string b64url(std::string_view s) {
  std::string out = base64_encode(as_bytes(s));
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

TEST(SaslOauthbearer, ClientMessageThenErrorAcknowledgement) {
  auto mech = sasl_oauthbearer::create(secret("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
  ASSERT_TRUE(mech);
  auto first = (*mech)->step({});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, sasl_status::respond);
  EXPECT_EQ(text(first->response), std::string("n,,\x01" "auth=Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\x01\x01"));
  const std::string error_json = R"({"status":"invalid_token"})";
  auto ack = (*mech)->step(as_bytes(error_json));
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->status, sasl_status::respond);
  EXPECT_EQ(text(ack->response), std::string("\x01"));
  // The broker's error message then gets the challenge's status and the fix, never the token.
  const auto detail = (*mech)->failure_detail("Authentication failed");
  EXPECT_NE(detail.find("the broker refused the token (invalid_token)"), std::string::npos) << detail;
  EXPECT_NE(detail.find("sasl.oauthbearer"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("eyJ"), std::string::npos) << detail;
  auto garbled = sasl_oauthbearer::create(secret("tok"));
  ASSERT_TRUE((*garbled)->step({}));
  ASSERT_TRUE((*garbled)->step(as_bytes(std::string_view("not json"))));
  EXPECT_NE((*garbled)->failure_detail("").find("refused the token (error)"), std::string::npos);
  // Kafka puts the error JSON into SaslAuthenticate's error message at once (no challenge round).
  auto direct = sasl_oauthbearer::create(secret("tok"));
  EXPECT_EQ((*direct)->failure_detail(R"({"status":"invalid_token"})"), "");  // nothing sent yet
  ASSERT_TRUE((*direct)->step({}));
  EXPECT_NE((*direct)->failure_detail(R"({"status":"invalid_token"})").find("refused the token (invalid_token)"),
            std::string::npos);

  auto ok = sasl_oauthbearer::create(secret("tok"));
  ASSERT_TRUE((*ok)->step({}));
  auto done = (*ok)->step({});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, sasl_status::done);

  EXPECT_FALSE(sasl_oauthbearer::create(secret("")));
  EXPECT_FALSE(sasl_oauthbearer::create(secret("a\x01" "b")));
  EXPECT_FALSE(sasl_oauthbearer::create(secret("with space")));
}

TEST(SaslOauthbearer, ClientCredentialsRequestAsKafkaSendsIt) {
  EXPECT_EQ(client_credentials_form(""), "grant_type=client_credentials");
  EXPECT_EQ(client_credentials_form("kafka read"), "grant_type=client_credentials&scope=kafka%20read");
  // base64("backup%40svc:s%3Ac") — id and secret URL-encoded before joining, like Kafka 3.x+.
  EXPECT_EQ(client_basic_auth("backup@svc", secret("s:c")), "Basic YmFja3VwJTQwc3ZjOnMlM0Fj");
}

TEST(SaslOauthbearer, TokenEndpointAnswers) {
  const tp now{std::chrono::seconds(1'800'000'000)};
  auto t = parse_token_response({200, R"({"access_token":"abc.def.ghi","token_type":"Bearer","expires_in":120})", {}},
                                "token endpoint", now);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->value.reveal(), "abc.def.ghi");
  ASSERT_TRUE(t->expires);
  EXPECT_EQ(*t->expires, now + 120s);

  auto denied = parse_token_response(
      {401, R"({"error":"invalid_client","error_description":"bad secret"})", {}}, "token endpoint X", now);
  ASSERT_FALSE(denied);
  EXPECT_TRUE(denied.error().is(errc::sasl));
  EXPECT_EQ(denied.error().message, "token endpoint X answered HTTP 401: invalid_client: bad secret");
  auto down = parse_token_response({0, {}, "Connection refused"}, "token endpoint X", now);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().message, "token endpoint X: Connection refused");
  EXPECT_FALSE(parse_token_response({200, R"({"token_type":"Bearer"})", {}}, "t", now));
}

TEST(SaslOauthbearer, JwtExpiryFromTheExpClaim) {
  const std::string jwt = b64url(R"({"alg":"RS256"})") + "." + b64url(R"({"sub":"backup","exp":1800000123})") + ".sig";
  auto exp = jwt_expiry(jwt);
  ASSERT_TRUE(exp);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*exp), 1800000123);
  EXPECT_FALSE(jwt_expiry("opaque-token"));
  EXPECT_FALSE(jwt_expiry("a.!!!.c"));
}

TEST(SaslOauthbearer, TokenCachedUntilEightyPercentOfItsLife) {
  tp now{std::chrono::seconds(1'800'000'000)};
  int fetches = 0;
  bool fail_next = false;
  oauth_token_source source(
      "test",
      [&]() -> result<oauth_token> {
        ++fetches;
        if (fail_next) return fail(errc::sasl, "endpoint down");
        oauth_token t;
        t.value = secret("token-" + std::to_string(fetches));
        t.expires = now + 100s;
        return t;
      },
      [&] { return now; });
  EXPECT_EQ(source.current()->reveal(), "token-1");
  now += 79s;
  EXPECT_EQ(source.current()->reveal(), "token-1");
  EXPECT_EQ(fetches, 1);
  now += 2s;
  EXPECT_EQ(source.current()->reveal(), "token-2");
  // A failed refresh keeps a still-valid token; an expired one is an error.
  fail_next = true;
  now += 85s;
  auto kept = source.current();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->reveal(), "token-2");
  now += 30s;
  EXPECT_FALSE(source.current());
}

TEST(SaslOauthbearer, FactoryUsesTheTokenSource) {
  const auto dir = std::filesystem::temp_directory_path() / ("kb-oauth-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "file-token\n";
  oauth_settings from_file;
  from_file.token_file = (dir / "token").string();
  auto source = make_oauth_token_source(from_file);
  ASSERT_TRUE(source);
  sasl_credentials creds;
  creds.mechanism = "OAUTHBEARER";
  creds.username = "token file test";
  creds.oauth_token = *source;
  auto mech = make_sasl_mechanism(creds);
  ASSERT_TRUE(mech) << mech.error().message;
  EXPECT_EQ((*mech)->name(), "OAUTHBEARER");
  EXPECT_EQ(text((*mech)->step({})->response), std::string("n,,\x01" "auth=Bearer file-token\x01\x01"));
  std::filesystem::remove_all(dir);
  // A copy of the credentials (every connection holds one) shares the source and its cached token.
  const sasl_credentials copy = creds;
  EXPECT_EQ(copy.oauth_token, creds.oauth_token);
  auto again = make_sasl_mechanism(copy);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(text((*again)->step({})->response), std::string("n,,\x01" "auth=Bearer file-token\x01\x01"));
  creds.oauth_token.reset();
  auto none = make_sasl_mechanism(creds);
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().is(errc::invalid_argument));

  std::string seen_form, seen_auth, seen_url;
  oauth_settings cc;
  cc.token_endpoint_url = "http://127.0.0.1:1/token";
  cc.client_id = "backup";
  cc.client_secret = secret("pw");
  cc.scope = "kafka";
  auto endpoint = make_oauth_token_source(cc, [&](const std::string& url, const std::string& form,
                                                  const std::string& auth) {
    seen_url = url;
    seen_form = form;
    seen_auth = auth;
    return http_post_reply{200, R"({"access_token":"cc-token","expires_in":60})", {}};
  });
  ASSERT_TRUE(endpoint);
  EXPECT_EQ((*endpoint)->current()->reveal(), "cc-token");
  EXPECT_EQ(seen_url, "http://127.0.0.1:1/token");
  EXPECT_EQ(seen_form, "grant_type=client_credentials&scope=kafka");
  EXPECT_EQ(seen_auth, "Basic YmFja3VwOnB3");

  oauth_settings half;
  half.token_endpoint_url = "http://x/token";
  auto bad = make_oauth_token_source(half);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::config));
  EXPECT_FALSE(make_oauth_token_source({}));
}

}  // namespace
}  // namespace kb::net
