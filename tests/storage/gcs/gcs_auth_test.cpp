// Unit tests of GCS auth: base64url (RFC 4648/7515 vectors), key-file parsing, the RS256 JWT
// assertion (verified with the public half of a key made per run), token replies, the ADC order,
// and refresh before expiry with an injected clock and HTTP.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "storage/gcs/gcs_credentials.hpp"
#include "storage/gcs/gcs_jwt.hpp"

namespace kb::storage::gcs {
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

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("kb-gcsauth-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
  static inline std::atomic<int> counter_{0};
};

/// A fresh RSA key: its PKCS#8 PEM and the key object to verify with.
struct rsa_key {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey{EVP_RSA_gen(2048), EVP_PKEY_free};
  std::string pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  }
};

std::string base64url_decode(std::string_view in) {
  std::string b64(in);
  for (auto& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  std::size_t pad = 0;
  for (; b64.size() % 4 != 0; ++pad) b64.push_back('=');
  std::string out(b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  out.resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

std::string key_json(const std::string& pem, const std::string& token_uri) {
  boost::json::object o{{"type", "service_account"},
                        {"project_id", "p"},
                        {"private_key_id", "kid-1"},
                        {"private_key", pem},
                        {"client_email", "backup@p.iam.gserviceaccount.com"},
                        {"token_uri", token_uri}};
  return boost::json::serialize(o);
}

TEST(GcsCredentialsFile, ServiceAccountAndErrorsWithoutSecrets) {
  auto sa = parse_credentials_file(key_json("-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n",
                                            "http://127.0.0.1:1/token"),
                                   "/k.json");
  ASSERT_TRUE(sa) << sa.error().message;
  EXPECT_EQ(sa->client_email, "backup@p.iam.gserviceaccount.com");
  EXPECT_EQ(sa->token_uri, "http://127.0.0.1:1/token");
  EXPECT_EQ(sa->private_key_id, "kid-1");

  auto no_uri = parse_credentials_file(R"({"type":"service_account","client_email":"a@b","private_key":"x"})", "/k");
  ASSERT_TRUE(no_uri);
  EXPECT_EQ(no_uri->token_uri, default_token_uri);

  auto bad = parse_credentials_file("not json", "/etc/k.json");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::config));
  EXPECT_NE(bad.error().message.find("/etc/k.json"), std::string::npos);

  auto external = parse_credentials_file(R"({"type":"external_account","private_key":"SECRETKEYBYTES"})", "/k");
  ASSERT_FALSE(external);
  EXPECT_NE(external.error().message.find("external_account"), std::string::npos);
  EXPECT_EQ(external.error().message.find("SECRETKEYBYTES"), std::string::npos);

  auto user = parse_credentials_file(
      R"({"type":"authorized_user","client_id":"cid","client_secret":"cs","refresh_token":"rt"})", "/adc.json");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->client_id, "cid");
  EXPECT_EQ(user->refresh_token.reveal(), "rt");
}

TEST(GcsJwt, AssertionIsRs256SignedWithTheKeyAndCarriesTheClaims) {
  rsa_key key;
  auto file = parse_credentials_file(key_json(key.pem(), "https://oauth2.example/token"), "/k.json");
  ASSERT_TRUE(file);
  const tp now = tp(std::chrono::seconds(1'800'000'000));
  auto jwt = make_jwt_assertion(*file, storage_scope, now);
  ASSERT_TRUE(jwt) << jwt.error().message;
  const auto dot1 = jwt->find('.');
  const auto dot2 = jwt->rfind('.');
  ASSERT_NE(dot1, dot2);
  const auto header = boost::json::parse(base64url_decode(jwt->substr(0, dot1))).as_object();
  EXPECT_EQ(header.at("alg").as_string(), "RS256");
  EXPECT_EQ(header.at("kid").as_string(), "kid-1");
  const auto claims = boost::json::parse(base64url_decode(jwt->substr(dot1 + 1, dot2 - dot1 - 1))).as_object();
  EXPECT_EQ(claims.at("iss").as_string(), "backup@p.iam.gserviceaccount.com");
  EXPECT_EQ(claims.at("aud").as_string(), "https://oauth2.example/token");
  EXPECT_EQ(claims.at("scope").as_string(), storage_scope);
  EXPECT_EQ(claims.at("iat").as_int64(), 1'800'000'000);
  EXPECT_EQ(claims.at("exp").as_int64(), 1'800'003'600);

  // The signature verifies with the key's public half over "header.claims"...
  const std::string signed_part = jwt->substr(0, dot2);
  const std::string sig = base64url_decode(jwt->substr(dot2 + 1));
  ASSERT_EQ(sig.size(), 256u);
  auto verify = [&](const std::string& data) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EXPECT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey.get()), 1);
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  };
  EXPECT_TRUE(verify(signed_part));
  // ...and not over anything else.
  EXPECT_FALSE(verify(signed_part + "x"));
}

TEST(GcsJwt, UnreadableKeyIsAConfigErrorWithoutTheKey) {
  credentials_file f;
  f.client_email = "a@b";
  f.token_uri = "http://t";
  f.private_key = secret_string("-----BEGIN PRIVATE KEY-----\nNOTAKEYSECRET\n-----END PRIVATE KEY-----\n");
  auto jwt = make_jwt_assertion(f, storage_scope, std::chrono::system_clock::now());
  ASSERT_FALSE(jwt);
  EXPECT_TRUE(jwt.error().is(errc::config));
  EXPECT_EQ(jwt.error().message.find("NOTAKEYSECRET"), std::string::npos);
}

TEST(GcsToken, ResponseParsing) {
  const tp now = tp(std::chrono::seconds(1000));
  auto t = parse_token_response(R"({"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"})", now, "src");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token.reveal(), "ya29.x");
  EXPECT_EQ(*t->expiration, now + 3599s);
  auto missing = parse_token_response(R"({"token_type":"Bearer"})", now, "the metadata server");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("the metadata server"), std::string::npos);
}

/// An HTTP stand-in that records requests and answers from a queue.
struct scripted_http {
  std::vector<http_request> seen;
  std::vector<std::string> bodies;
  std::vector<http_response_data> replies;
  std::size_t next = 0;
  http_send_fn fn() {
    return [this](const http_request& r) {
      seen.push_back(r);
      std::string body;
      for (const byte_view piece : r.body) body += as_text(piece);
      bodies.push_back(std::move(body));
      if (next < replies.size()) return replies[next++];
      http_response_data fail_resp;
      fail_resp.failure = http_failure::connect;
      fail_resp.failure_text = "Connection refused";
      return fail_resp;
    };
  }
};

http_response_data token_reply(std::string token, int expires_in) {
  http_response_data r;
  r.status = 200;
  r.body = fmt::format(R"({{"access_token":"{}","expires_in":{},"token_type":"Bearer"}})", token, expires_in);
  return r;
}

TEST(GcsCredentials, ServiceAccountKeyIsExchangedAndRefreshedBeforeExpiry) {
  rsa_key key;
  temp_dir dir;
  const std::string path = dir.write("k.json", key_json(key.pem(), "http://127.0.0.1:9/token"));
  scripted_http http;
  http.replies = {token_reply("tok-1", 600), token_reply("tok-2", 3600)};
  tp now = tp(std::chrono::seconds(2'000'000'000));
  auth_settings s;
  s.service_account_path = path;
  s.http = http.fn();
  s.clock = [&] { return now; };
  auto p = resolve_credentials(s, fake_env({}));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_NE((*p)->source().find("storage.service_account_path"), std::string::npos);
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].method, "POST");
  EXPECT_EQ(http.seen[0].url, "http://127.0.0.1:9/token");
  EXPECT_TRUE(http.bodies[0].starts_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="));
  auto a1 = (*p)->authorization();
  ASSERT_TRUE(a1 && *a1);
  EXPECT_EQ(**a1, "Bearer tok-1");
  EXPECT_EQ(http.seen.size(), 1u);
  now += 301s;  // a 600 s token is refreshed halfway
  auto a2 = (*p)->authorization();
  ASSERT_TRUE(a2 && *a2);
  EXPECT_EQ(**a2, "Bearer tok-2");
  EXPECT_EQ(http.seen.size(), 2u);
}

TEST(GcsCredentials, RefusedExchangeNamesSourceAndFixWithoutSecrets) {
  rsa_key key;
  temp_dir dir;
  const std::string path = dir.write("k.json", key_json(key.pem(), "http://127.0.0.1:9/token"));
  scripted_http http;
  http_response_data refused;
  refused.status = 400;
  refused.body = R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})";
  http.replies = {refused};
  auth_settings s;
  s.service_account_path = path;
  s.http = http.fn();
  auto p = resolve_credentials(s, fake_env({}));
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(errc::authorization));
  const std::string& m = p.error().message;
  EXPECT_NE(m.find("backup@p.iam.gserviceaccount.com"), std::string::npos) << m;
  EXPECT_NE(m.find(path), std::string::npos) << m;
  EXPECT_NE(m.find("invalid_grant"), std::string::npos) << m;
  EXPECT_NE(m.find("download a new key"), std::string::npos) << m;
  EXPECT_EQ(m.find("PRIVATE KEY"), std::string::npos) << m;
}

TEST(GcsCredentials, AdcOrderEnvThenMetadataServer) {
  rsa_key key;
  temp_dir dir;
  const std::string path = dir.write("adc.json", key_json(key.pem(), "http://127.0.0.1:9/token"));
  {
    scripted_http http;
    http.replies = {token_reply("from-file", 3600)};
    auth_settings s;
    s.http = http.fn();
    auto p = resolve_credentials(s, fake_env({{"GOOGLE_APPLICATION_CREDENTIALS", path}, {"HOME", dir.path.string()}}));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_NE((*p)->source().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
  }
  {
    scripted_http http;
    http.replies = {token_reply("from-metadata", 3600)};
    auth_settings s;
    s.http = http.fn();
    auto p = resolve_credentials(s, fake_env({{"GCE_METADATA_HOST", "127.0.0.1:8089"}, {"HOME", dir.path.string()}}));
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(http.seen.size(), 1u);
    EXPECT_EQ(http.seen[0].method, "GET");
    EXPECT_TRUE(http.seen[0].url.starts_with(
        "http://127.0.0.1:8089/computeMetadata/v1/instance/service-accounts/default/token?scopes="));
    ASSERT_FALSE(http.seen[0].headers.empty());
    EXPECT_EQ(http.seen[0].headers[0], (std::pair<std::string, std::string>{"Metadata-Flavor", "Google"}));
    auto a = (*p)->authorization();
    ASSERT_TRUE(a && *a);
    EXPECT_EQ(**a, "Bearer from-metadata");
  }
  {
    scripted_http http;  // nothing answers
    auth_settings s;
    s.http = http.fn();
    s.metadata_endpoint = "http://127.0.0.1:1";
    auto p = resolve_credentials(s, fake_env({{"HOME", dir.path.string()}}));
    ASSERT_FALSE(p);
    EXPECT_TRUE(p.error().is(errc::connect));
    EXPECT_NE(p.error().message.find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
    EXPECT_NE(p.error().message.find("metadata server http://127.0.0.1:1"), std::string::npos);
  }
}

TEST(GcsCredentials, MissingKeyFileIsAConfigError) {
  auth_settings s;
  s.service_account_path = "/nonexistent/key.json";
  auto p = resolve_credentials(s, fake_env({}));
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(errc::config));
  EXPECT_NE(p.error().message.find("/nonexistent/key.json"), std::string::npos);
}

TEST(GcsCredentials, AnonymousSendsNoHeader) {
  auth_settings s;
  s.anonymous = true;
  auto p = resolve_credentials(s, fake_env({}));
  ASSERT_TRUE(p);
  auto a = (*p)->authorization();
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->has_value());
}

}  // namespace
}  // namespace kb::storage::gcs
