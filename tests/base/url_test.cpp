#include "base/url.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::url {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(http_url, host_port_and_default_port) {
  auto u = parse_http_url("http://127.0.0.1:7070");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 7070);
  EXPECT_EQ(u->authority, "127.0.0.1:7070");
  EXPECT_EQ(u->path, "");
  EXPECT_EQ(u->origin(), "http://127.0.0.1:7070");
  auto d = parse_http_url("https://s3.eu-west-1.amazonaws.com");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port, 0);  // none written: the scheme's default
  EXPECT_EQ(d->authority, "s3.eu-west-1.amazonaws.com");
}

TEST(http_url, ipv6_literal_keeps_its_brackets) {
  auto u = parse_http_url("http://[::1]:9000");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "[::1]");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->authority, "[::1]:9000");
}

TEST(http_url, trailing_slashes_go_path_and_query_are_reported) {
  auto u = parse_http_url("http://h:1///");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->text, "http://h:1");
  EXPECT_EQ(u->path, "");
  auto p = parse_http_url("http://127.0.0.1:10000/devstoreaccount1/");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->path, "/devstoreaccount1");
  EXPECT_EQ(p->origin(), "http://127.0.0.1:10000");
  auto q = parse_http_url("https://h/x%20y?a=b");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->path, "/x%20y");
  EXPECT_TRUE(q->has_query);
}

TEST(http_url, refusals_do_not_quote_the_text) {
  for (const char* bad : {"ftp://h", "127.0.0.1:7070", "http://", "http://h:0", "http://h:99999", "http://h:x",
                          "http://user:hunter2@h:1"}) {
    auto u = parse_http_url(bad);
    ASSERT_FALSE(u) << bad;
    EXPECT_TRUE(u.error().is(errc::invalid_argument));
    EXPECT_THAT(u.error().message, Not(HasSubstr("hunter2")));
  }
  EXPECT_THAT(parse_http_url("http://u:p@h").error().message, HasSubstr("user:password@"));
  EXPECT_THAT(parse_http_url("ftp://h").error().message, HasSubstr("not http or https"));
  EXPECT_THAT(parse_http_url("localhost:9000").error().message, HasSubstr("no http:// or https://"));
}

TEST(lenient_url, splits_bucket_path_and_query) {
  auto u = parse_lenient("s3://bkt/a/b/?endpoint=http://127.0.0.1:7070&region=eu-west-1&&path_style=true");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, "s3");
  EXPECT_EQ(u->authority, "bkt");
  EXPECT_EQ(u->path, "/a/b/");
  ASSERT_EQ(u->query.size(), 3u);
  EXPECT_EQ(u->query[0], (std::pair<std::string, std::string>{"endpoint", "http://127.0.0.1:7070"}));
  EXPECT_EQ(u->query[1].second, "eu-west-1");
  EXPECT_EQ(u->query[2].first, "path_style");
}

TEST(lenient_url, percent_escapes_are_decoded_and_plus_stays) {
  auto u = parse_lenient("gs://b/my%20dir/x%2By+z?k=a%26b+c");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->path, "/my dir/x+y+z");
  ASSERT_EQ(u->query.size(), 1u);
  EXPECT_EQ(u->query[0].second, "a&b+c");
  auto bad = parse_lenient("s3://b/x%zz");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("%-escape"));
}

TEST(lenient_url, characters_a_uri_cannot_hold_stand_for_themselves) {
  auto u = parse_lenient("file:///data/my backups/#1 [old]");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->authority, "");
  EXPECT_EQ(u->path, "/data/my backups/#1 [old]");
  auto q = parse_lenient("s3://b/p?endpoint=http://[::1]:9000");
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->query[0].second, "http://[::1]:9000");
}

TEST(lenient_url, userinfo_forms) {
  auto az = parse_lenient("azure://backups@acct.blob.core.windows.net/prod");
  ASSERT_TRUE(az) << az.error().message;
  EXPECT_TRUE(az->has_userinfo);
  EXPECT_FALSE(az->has_password);
  EXPECT_EQ(az->user, "backups");
  EXPECT_EQ(az->host, "acct.blob.core.windows.net");
  auto pw = parse_lenient("s3://AKIA:secret@bkt/p");
  ASSERT_TRUE(pw);
  EXPECT_TRUE(pw->has_password);
}

TEST(host_port, names_ipv6_and_refusals) {
  auto a = parse_host_port("broker-1.example.com:9092");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "broker-1.example.com");
  EXPECT_EQ(a->port, 9092);
  auto v6 = parse_host_port("[::1]:19092");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 19092);
  for (const char* bad : {"", "host", "host:", ":9092", "host:0", "host:65536", "host:9x", "::1:9092", "[::1]",
                          "[::1]9092", "a b:1", "a/b:1", "u@h:1", "h%41:1", "h:1/"}) {
    EXPECT_FALSE(parse_host_port(bad)) << bad;
  }
}

TEST(percent_encode, unreserved_stay_the_rest_upper_hex) {
  EXPECT_EQ(percent_encode("a-Z_0.~"), "a-Z_0.~");
  EXPECT_EQ(percent_encode("a b/c+d&é"), "a%20b%2Fc%2Bd%26%C3%A9");
  EXPECT_EQ(percent_encode("a b/c", true), "a%20b/c");
}

TEST(redact, passwords_go_users_stay) {
  EXPECT_EQ(redact("s3://AKIA:s3cr3t@bkt/p"), "s3://AKIA:***@bkt/p");
  EXPECT_EQ(redact("s3://b/p?endpoint=http://u:pw@h:1"), "s3://b/p?endpoint=http://u:***@h:1");
  EXPECT_EQ(redact("azure://c@acct.blob.core.windows.net/p"), "azure://c@acct.blob.core.windows.net/p");
  EXPECT_EQ(redact("http://u:pa/ss@h"), "http://u:***@h");  // a raw '/' in the password
  EXPECT_EQ(redact("no url here"), "no url here");
  EXPECT_EQ(redact("http://h:1/x"), "http://h:1/x");
}

}  // namespace
}  // namespace kb::url
