#include "base/base64.hpp"

#include <gtest/gtest.h>

namespace {

kb::byte_view bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(kb::base64_encode(bytes_of("")), "");
  EXPECT_EQ(kb::base64_encode(bytes_of("f")), "Zg==");
  EXPECT_EQ(kb::base64_encode(bytes_of("fo")), "Zm8=");
  EXPECT_EQ(kb::base64_encode(bytes_of("foo")), "Zm9v");
  EXPECT_EQ(kb::base64_encode(bytes_of("foob")), "Zm9vYg==");
  EXPECT_EQ(kb::base64_encode(bytes_of("fooba")), "Zm9vYmE=");
  EXPECT_EQ(kb::base64_encode(bytes_of("foobar")), "Zm9vYmFy");
}

TEST(Base64, DecodeRoundTripAndStrictness) {
  auto d = kb::base64_decode("Zm9vYmE=");
  ASSERT_TRUE(d);
  EXPECT_EQ(std::string(d->begin(), d->end()), "fooba");
  EXPECT_FALSE(kb::base64_decode("Zm9vYmE"));   // length
  EXPECT_FALSE(kb::base64_decode("Zm=vYmE="));  // '=' in the middle
  EXPECT_FALSE(kb::base64_decode("Zh=="));      // unused bits set
  EXPECT_FALSE(kb::base64_decode("Zm9v!mE="));  // alphabet
}

TEST(Base64, UrlSafeUnpadded) {
  const std::uint8_t raw[] = {0xfb, 0xff, 0xfe};
  EXPECT_EQ(kb::base64url_encode(raw), "-__-");
  EXPECT_EQ(kb::base64_encode(raw), "+//+");
  EXPECT_EQ(kb::base64url_encode(bytes_of("f")), "Zg");
}

// The JWT signers (GCS service accounts) sign these segments.
TEST(Base64, UrlRfc4648AndRfc7515Vectors) {
  EXPECT_EQ(kb::base64url_encode(bytes_of("")), "");
  EXPECT_EQ(kb::base64url_encode(bytes_of("f")), "Zg");
  EXPECT_EQ(kb::base64url_encode(bytes_of("fo")), "Zm8");
  EXPECT_EQ(kb::base64url_encode(bytes_of("foo")), "Zm9v");
  EXPECT_EQ(kb::base64url_encode(bytes_of("foob")), "Zm9vYg");
  EXPECT_EQ(kb::base64url_encode(bytes_of("fooba")), "Zm9vYmE");
  EXPECT_EQ(kb::base64url_encode(bytes_of("foobar")), "Zm9vYmFy");
  // RFC 7515 §3.3, the JWS header example.
  EXPECT_EQ(kb::base64url_encode(bytes_of("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}")),
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9");
  const std::uint8_t url_chars[] = {0xfb, 0xff};
  EXPECT_EQ(kb::base64url_encode(kb::byte_view(url_chars, 2)), "-_8");
}

}  // namespace
