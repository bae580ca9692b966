// Expected values: the examples of the Amazon S3 API Reference, "Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk" (AKIAIOSFODNN7EXAMPLE, 20130524),
// and AWS's Signature Version 4 test suite (AKIDEXAMPLE, service "service", 20150830T123600Z).
#include "storage/sigv4.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace kb::storage::sigv4 {
namespace {

using namespace std::chrono;

aws_credentials s3_docs_credentials() {
  return {"AKIAIOSFODNN7EXAMPLE", secret_string("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), {}};
}
aws_credentials suite_credentials() {
  return {"AKIDEXAMPLE", secret_string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), {}};
}
system_clock::time_point s3_docs_time() { return sys_days{year{2013} / 5 / 24}; }
system_clock::time_point suite_time() {
  return sys_days{year{2015} / 8 / 30} + hours{12} + minutes{36};
}

std::string authorization_of(const signature& s) {
  for (const auto& [name, value] : s.headers_to_add) {
    if (name == "Authorization") return value;
  }
  return {};
}

signature sign_suite(request req, const aws_credentials& creds = suite_credentials()) {
  req.host = "example.amazonaws.com";
  req.payload_hash = std::string(empty_payload_hash);
  options opts;
  opts.service = "service";
  opts.content_sha256_header = false;
  return sign(req, creds, opts, suite_time());
}

std::string suite_authz(std::string_view signed_headers, std::string_view sig) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" + std::string(signed_headers) + ", Signature=" + std::string(sig);
}

// --- Amazon S3 API Reference examples --------------------------------------------------------

TEST(SigV4S3Examples, GetObjectWithRange) {
  request req{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", {}, {{"Range", "bytes=0-9"}},
              std::string(empty_payload_hash)};
  const signature s = sign(req, s3_docs_credentials(), {}, s3_docs_time());
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature_hex, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(authorization_of(s),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3Examples, PutObject) {
  const std::string payload_hash = sha256_hex(as_bytes("Welcome to Amazon S3."));
  EXPECT_EQ(payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  request req{"PUT",
              "examplebucket.s3.amazonaws.com",
              "/test$file.text",
              {},
              {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
              payload_hash};
  const signature s = sign(req, s3_docs_credentials(), {}, s3_docs_time());
  EXPECT_EQ(canonical_uri("/test$file.text"), "/test%24file.text");
  EXPECT_EQ(s.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(s.signature_hex, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4S3Examples, GetBucketLifecycle) {
  request req{"GET", "examplebucket.s3.amazonaws.com", "/", {{"lifecycle", ""}}, {},
              std::string(empty_payload_hash)};
  const signature s = sign(req, s3_docs_credentials(), {}, s3_docs_time());
  EXPECT_EQ(canonical_query(req.query), "lifecycle=");
  EXPECT_EQ(s.signature_hex, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4S3Examples, ListObjects) {
  request req{"GET", "examplebucket.s3.amazonaws.com", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {},
              std::string(empty_payload_hash)};
  const signature s = sign(req, s3_docs_credentials(), {}, s3_docs_time());
  EXPECT_EQ(canonical_query(req.query), "max-keys=2&prefix=J");
  EXPECT_EQ(s.signature_hex, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// --- AWS Signature Version 4 test suite --------------------------------------------------------

TEST(SigV4Suite, GetVanilla) {
  const signature s = sign_suite({"GET", "", "/", {}, {}, ""});
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(authorization_of(s),
            suite_authz("host;x-amz-date",
                        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST(SigV4Suite, PostVanilla) {
  const signature s = sign_suite({"POST", "", "/", {}, {}, ""});
  EXPECT_EQ(s.signature_hex, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Suite, QueryOrderKeyCase) {
  const signature s = sign_suite({"GET", "", "/", {{"Param2", "value2"}, {"Param1", "value1"}}, {}, ""});
  EXPECT_EQ(s.signature_hex, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Suite, QueryOrderEncoded) {
  const signature s = sign_suite(
      {"GET", "", "/", {{"Param-3", "Value3"}, {"Param", "Value2"}, {"\xE1\x88\xB4", "Value1"}}, {}, ""});
  EXPECT_EQ(canonical_query({{"Param-3", "Value3"}, {"Param", "Value2"}, {"\xE1\x88\xB4", "Value1"}}),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
  EXPECT_EQ(s.signature_hex, "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac");
}

TEST(SigV4Suite, HeaderValueTrim) {
  const signature s =
      sign_suite({"GET", "", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}, ""});
  EXPECT_NE(s.canonical_request.find("my-header1:value1\nmy-header2:\"a b c\"\n"), std::string::npos);
  EXPECT_EQ(authorization_of(s),
            suite_authz("host;my-header1;my-header2;x-amz-date",
                        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
}

TEST(SigV4Suite, Utf8Path) {
  const signature s = sign_suite({"GET", "", "/\xE1\x88\xB4", {}, {}, ""});
  EXPECT_EQ(canonical_uri("/\xE1\x88\xB4"), "/%E1%88%B4");
  EXPECT_EQ(s.signature_hex, "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4Suite, SpaceInPathUnnormalized) {
  const signature s = sign_suite({"GET", "", "/example space/", {}, {}, ""});
  EXPECT_EQ(canonical_uri("/example space/"), "/example%20space/");
  EXPECT_EQ(s.signature_hex, "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
}

TEST(SigV4Suite, UnreservedCharactersAreKept) {
  const std::string path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(canonical_uri(path), path);
  const signature s = sign_suite({"GET", "", path, {}, {}, ""});
  EXPECT_EQ(s.signature_hex, "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

TEST(SigV4Suite, SessionTokenIsSentAndSigned) {
  aws_credentials creds = suite_credentials();
  const std::string token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfK"
      "D8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8"
      "Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iS"
      "IlTJabIQwj2ICCR/oLxBA==";
  creds.session_token = secret_string(token);
  const signature s = sign_suite({"POST", "", "/", {}, {}, ""}, creds);
  EXPECT_EQ(s.signed_headers, "host;x-amz-date;x-amz-security-token");
  EXPECT_EQ(s.signature_hex, "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
  bool token_sent = false;
  for (const auto& [name, value] : s.headers_to_add) token_sent |= name == "x-amz-security-token" && value == token;
  EXPECT_TRUE(token_sent);
}

// AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
TEST(SigV4SigningKey, DocumentedDerivation) {
  EXPECT_EQ(hex(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4Helpers, AmzDateAndEncoding) {
  EXPECT_EQ(amz_date(suite_time()), "20150830T123600Z");
  EXPECT_EQ(uri_encode("a b/c+d=e", false), "a%20b%2Fc%2Bd%3De");
  EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
  EXPECT_EQ(canonical_uri("/bucket/topics/orders-1/0/00000000000000000000-00000000000000000099.kbs"),
            "/bucket/topics/orders-1/0/00000000000000000000-00000000000000000099.kbs");
}

TEST(SigV4Helpers, SignatureChangesWithTheSecret) {
  request req{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", {}, {}, std::string(empty_payload_hash)};
  aws_credentials wrong = s3_docs_credentials();
  wrong.secret_access_key = secret_string("not-the-secret");
  EXPECT_NE(sign(req, s3_docs_credentials(), {}, s3_docs_time()).signature_hex,
            sign(req, wrong, {}, s3_docs_time()).signature_hex);
}

}  // namespace
}  // namespace kb::storage::sigv4
