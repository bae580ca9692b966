#include "net/scram.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/base64.hpp"

namespace kb::net {
namespace {

std::string text_of(const byte_vector& bytes) { return std::string(bytes.begin(), bytes.end()); }
byte_vector bytes_of(std::string_view text) { return byte_vector(text.begin(), text.end()); }

std::unique_ptr<scram_client> make_client(std::string user, std::string password, scram_hash hash,
                                          std::string nonce) {
  scram_options opts;
  opts.hash = hash;
  opts.nonce_source = [nonce]() -> result<std::string> { return nonce; };
  auto client = scram_client::create(std::move(user), secret(std::move(password)), std::move(opts));
  EXPECT_TRUE(client.has_value());
  return client ? std::move(*client) : nullptr;
}

// RFC 4648 §10 test vectors.
TEST(base64, rfc4648_vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(as_bytes(plain)), encoded);
    const auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(text_of(*decoded), plain);
  }
  EXPECT_FALSE(base64_decode("Zg="));
  EXPECT_FALSE(base64_decode("Zh=="));  // non-zero padding bits
  EXPECT_FALSE(base64_decode("Z==="));
  EXPECT_FALSE(base64_decode("Zm=v"));
}

// RFC 7677 §3, SCRAM-SHA-256 example: user "user", password "pencil".
TEST(scram, rfc7677_sha256_example) {
  auto client = make_client("user", "pencil", scram_hash::sha256, "rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(client);
  EXPECT_EQ(client->name(), "SCRAM-SHA-256");
  auto first = client->step({});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(text_of(first->response), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  auto final_msg = client->step(
      bytes_of("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
  ASSERT_TRUE(final_msg) << final_msg.error().message;
  EXPECT_EQ(text_of(final_msg->response),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  auto done = client->step(bytes_of("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->status, sasl_status::done);
  EXPECT_EQ(client->current_state(), scram_client::state::done);
}

// RFC 5802 §5, SCRAM-SHA-1 example with the same user and password.
TEST(scram, rfc5802_sha1_example) {
  auto client = make_client("user", "pencil", scram_hash::sha1, "fyko+d2lbbFgONRv9qkxdawL");
  ASSERT_TRUE(client);
  auto first = client->step({});
  ASSERT_TRUE(first);
  EXPECT_EQ(text_of(first->response), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  auto final_msg =
      client->step(bytes_of("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"));
  ASSERT_TRUE(final_msg) << final_msg.error().message;
  EXPECT_EQ(text_of(final_msg->response),
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  auto done = client->step(bytes_of("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->status, sasl_status::done);
}

// An independent SCRAM-SHA-512 server written directly against OpenSSL (RFC 5802 §3), not
// through scram_client, checks the proof and produces the server signature.
struct independent_server {
  std::string password;
  byte_vector salt;
  int iterations;
  std::string server_nonce_suffix;

  static byte_vector mac(const byte_vector& key, std::string_view data) {
    byte_vector out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
    out.resize(len);
    return out;
  }

  // Returns the server-final message for a correct proof, an "e=" message otherwise.
  std::string finish(const std::string& client_first_bare, const std::string& server_first,
                     const std::string& client_final) const {
    const auto p = client_final.find(",p=");
    if (p == std::string::npos) return "e=invalid-proof";
    const std::string without_proof = client_final.substr(0, p);
    const std::string auth = client_first_bare + "," + server_first + "," + without_proof;
    byte_vector salted(64);
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                      static_cast<int>(salt.size()), iterations, EVP_sha512(), 64, salted.data());
    const byte_vector client_key = mac(salted, "Client Key");
    byte_vector stored(64);
    unsigned int len = 0;
    EVP_Digest(client_key.data(), client_key.size(), stored.data(), &len, EVP_sha512(), nullptr);
    const byte_vector client_sig = mac(stored, auth);
    // Recover ClientKey from the proof and check H(ClientKey) == StoredKey, as a server does.
    const auto proof = base64_decode(client_final.substr(p + 3));
    if (!proof || proof->size() != 64) return "e=invalid-proof";
    byte_vector recovered(64);
    for (std::size_t i = 0; i < 64; ++i) recovered[i] = (*proof)[i] ^ client_sig[i];
    byte_vector check(64);
    EVP_Digest(recovered.data(), recovered.size(), check.data(), &len, EVP_sha512(), nullptr);
    if (check != stored) return "e=invalid-proof";
    const byte_vector server_key = mac(salted, "Server Key");
    return "v=" + base64_encode(mac(server_key, auth));
  }
};

struct sha512_run {
  std::string client_first, client_final;
  result<sasl_step> outcome;
};

sha512_run run_sha512(const std::string& user, const std::string& client_password,
                      const independent_server& server) {
  sha512_run run{{}, {}, fail(errc::internal, "not run")};
  auto client = make_client(user, client_password, scram_hash::sha512, "fixedClientNonce0123");
  if (!client) return run;
  auto first = client->step({});
  if (!first) return run;
  run.client_first = text_of(first->response);
  const std::string bare = run.client_first.substr(3);
  const std::string server_first =
      "r=fixedClientNonce0123" + server.server_nonce_suffix + ",s=" + base64_encode(server.salt) +
      ",i=" + std::to_string(server.iterations);
  auto final_msg = client->step(bytes_of(server_first));
  if (!final_msg) {
    run.outcome = fail(final_msg.error());
    return run;
  }
  run.client_final = text_of(final_msg->response);
  run.outcome = client->step(bytes_of(server.finish(bare, server_first, run.client_final)));
  return run;
}

TEST(scram, sha512_round_trip_against_independent_server) {
  const independent_server server{"s3cr3t-Pässword", bytes_of("some salt bytes!"), 4096, "SERVERpart-xyz"};
  const auto run = run_sha512("backup", "s3cr3t-Pässword", server);
  EXPECT_EQ(run.client_first, "n,,n=backup,r=fixedClientNonce0123");
  ASSERT_TRUE(run.outcome) << run.outcome.error().message;
  EXPECT_EQ(run.outcome->status, sasl_status::done);
}

TEST(scram, sha512_wrong_password_reported_by_server_error) {
  const independent_server server{"right", bytes_of("salt"), 4096, "S"};
  const auto run = run_sha512("backup", "wrong", server);
  ASSERT_FALSE(run.outcome);
  EXPECT_TRUE(run.outcome.error().is(errc::sasl));
  EXPECT_NE(run.outcome.error().message.find("invalid-proof"), std::string::npos);
  EXPECT_EQ(run.outcome.error().message.find("wrong"), std::string::npos);
}

TEST(scram, username_is_escaped) {
  EXPECT_EQ(scram_escape_username("a=b,c"), "a=3Db=2Cc");
  auto client = make_client("a=b,c", "pw", scram_hash::sha256, "abc");
  ASSERT_TRUE(client);
  auto first = client->step({});
  ASSERT_TRUE(first);
  EXPECT_EQ(text_of(first->response), "n,,n=a=3Db=2Cc,r=abc");
}

TEST(scram, default_nonce_is_random_and_printable) {
  scram_options opts;
  opts.hash = scram_hash::sha512;
  auto a = scram_client::create("u", secret("p"), opts);
  auto b = scram_client::create("u", secret("p"), opts);
  ASSERT_TRUE(a && b);
  const std::string fa = text_of((*a)->step({})->response);
  const std::string fb = text_of((*b)->step({})->response);
  ASSERT_EQ(fa.rfind("n,,n=u,r=", 0), 0u);
  const std::string nonce = fa.substr(9);
  EXPECT_GE(nonce.size(), 32u);  // 24 random bytes, base64
  EXPECT_EQ(nonce.find(','), std::string::npos);
  EXPECT_NE(fa, fb);
}

class scram_server_first : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(scram_server_first, rejected) {
  auto client = make_client("user", "pencil", scram_hash::sha256, "rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->step({}));
  auto result = client->step(bytes_of(GetParam().first));
  ASSERT_FALSE(result) << GetParam().first;
  EXPECT_TRUE(result.error().is(errc::sasl));
  EXPECT_NE(result.error().message.find(GetParam().second), std::string::npos) << result.error().message;
  EXPECT_EQ(result.error().message.find("pencil"), std::string::npos);
  EXPECT_EQ(client->current_state(), scram_client::state::failed);
  EXPECT_FALSE(client->step(bytes_of("v=AAAA")));
}

INSTANTIATE_TEST_SUITE_P(
    scram, scram_server_first,
    ::testing::Values(
        std::make_pair("r=someoneElsesNonce123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend the client nonce"),
        std::make_pair("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend the client nonce"),
        std::make_pair("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095", "fewer than the minimum 4096"),
        std::make_pair("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001", "more than the cap"),
        std::make_pair("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x", "not a number"),
        std::make_pair("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096", "not a number"),
        std::make_pair("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7so*sUEjb6gQ==,i=4096", "not valid base64"),
        std::make_pair("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", "not valid base64"),
        std::make_pair("m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "mandatory extension"),
        std::make_pair("s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOxyz,i=4096", "malformed server-first"),
        std::make_pair("r=rOprNGfwEbeRWgbNEkqOxyz", "malformed server-first"),
        std::make_pair("", "malformed server-first"),
        std::make_pair("e=unknown-user", "server error 'unknown-user'")));

TEST(scram, server_final_checks) {
  const std::string server_first =
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", "not valid base64"},  // non-canonical tail bits
      {"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", "does not match"},
      {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95", "not valid base64"},
      {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9", "does not match"},  // valid base64, short
      {"v=AAAA", "does not match"},
      {"e=invalid-proof", "server error 'invalid-proof'"},
      {"x=1", "no v= server signature"},
      {"", "no v= server signature"},
  };
  for (const auto& [message, expected] : cases) {
    auto client = make_client("user", "pencil", scram_hash::sha256, "rOprNGfwEbeRWgbNEkqO");
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->step({}));
    ASSERT_TRUE(client->step(bytes_of(server_first)));
    auto result = client->step(bytes_of(message));
    ASSERT_FALSE(result) << message;
    EXPECT_TRUE(result.error().is(errc::sasl));
    EXPECT_NE(result.error().message.find(expected), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("SCRAM-SHA-256"), std::string::npos);
  }
}

TEST(scram, credentials_are_checked_up_front) {
  EXPECT_FALSE(scram_client::create("", secret("pw")));
  auto bad_utf8 = scram_client::create("u", secret(std::string("p\xff\xfe")));
  ASSERT_FALSE(bad_utf8);
  EXPECT_TRUE(bad_utf8.error().is(errc::invalid_argument));
  EXPECT_NE(bad_utf8.error().message.find("not valid UTF-8"), std::string::npos);
  auto overlong = scram_client::create("u", secret(std::string("\xc0\xaf")));
  EXPECT_FALSE(overlong);
  auto newline = scram_client::create("u", secret("password\n"));
  ASSERT_FALSE(newline);
  EXPECT_NE(newline.error().message.find("control characters"), std::string::npos);
  EXPECT_EQ(newline.error().message.find("password\n"), std::string::npos);
  // Non-ASCII UTF-8 is sent as raw bytes, as Apache Kafka does.
  EXPECT_TRUE(scram_client::create("ユーザー", secret("pässwörd")));
}

}  // namespace
}  // namespace kb::net

namespace kb::net {
namespace {

// A cheap stand-in for the Z3 fuzz target: every truncation and every single-byte change of the
// RFC 7677 server messages is either accepted or refused with errc::sasl, never a crash. Only the
// untouched messages may succeed.
TEST(scram, mutated_server_messages_never_crash) {
  const std::string server_first =
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  const std::string server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
  const auto variants = [](const std::string& base) {
    std::vector<std::string> out;
    for (std::size_t len = 0; len < base.size(); ++len) out.push_back(base.substr(0, len));
    for (std::size_t i = 0; i < base.size(); ++i)
      for (const char c : {'\0', ',', '=', 'A', '\xff'}) {
        std::string m = base;
        if (m[i] == c) continue;
        m[i] = c;
        out.push_back(m);
      }
    return out;
  };
  int refused = 0;
  for (const auto& mutated : variants(server_first)) {
    auto client = make_client("user", "pencil", scram_hash::sha256, "rOprNGfwEbeRWgbNEkqO");
    ASSERT_TRUE(client && client->step({}));
    auto r = client->step(bytes_of(mutated));
    if (!r) {
      ++refused;
      EXPECT_TRUE(r.error().is(errc::sasl)) << r.error().message;
    }
  }
  EXPECT_GT(refused, 100);
  for (const auto& mutated : variants(server_final)) {
    auto client = make_client("user", "pencil", scram_hash::sha256, "rOprNGfwEbeRWgbNEkqO");
    ASSERT_TRUE(client && client->step({}) && client->step(bytes_of(server_first)));
    auto r = client->step(bytes_of(mutated));
    ASSERT_FALSE(r) << "a mutated server signature was accepted: " << mutated;
    EXPECT_TRUE(r.error().is(errc::sasl));
  }
}

}  // namespace
}  // namespace kb::net
