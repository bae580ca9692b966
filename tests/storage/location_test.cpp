// Storage URLs and prefixes as DESIGN.md §2 fixes them; credentials from an injected environment.
#include "storage/location.hpp"

#include <map>

#include <gtest/gtest.h>

namespace kb::storage {
namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(NormalizePrefix, AllSpellingsOfAFolderAreTheSame) {
  for (const char* spelling : {"prod", "prod/", "/prod/", "//prod//", "/prod"}) {
    auto p = normalize_prefix(spelling);
    ASSERT_TRUE(p) << spelling;
    EXPECT_EQ(*p, "prod/") << spelling;
  }
  EXPECT_EQ(*normalize_prefix("a//b/"), "a/b/");
  EXPECT_EQ(*normalize_prefix(""), "");
  EXPECT_EQ(*normalize_prefix("/"), "");
}

TEST(NormalizePrefix, RejectsDotSegments) {
  auto p = normalize_prefix("prod/../etc");
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(errc::invalid_argument));
}

TEST(ParseLocation, PlainPathAndFileUrl) {
  auto plain = parse_location("./kafka-backups");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->kind, backend_kind::filesystem);
  EXPECT_EQ(plain->path, "./kafka-backups");

  auto file = parse_location("file:///var/backups/kafka%20x");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->kind, backend_kind::filesystem);
  EXPECT_EQ(file->path, "/var/backups/kafka x");

  auto relative = parse_location("file://relative/path");
  ASSERT_FALSE(relative);
  EXPECT_TRUE(relative.error().is(errc::invalid_argument));
}

TEST(ParseLocation, S3WithAllParameters) {
  auto loc = parse_location("s3://my-bucket/prod?endpoint=http://127.0.0.1:7070&region=eu-west-1&path_style=true");
  ASSERT_TRUE(loc) << loc.error().message;
  EXPECT_EQ(loc->kind, backend_kind::s3);
  EXPECT_EQ(loc->bucket, "my-bucket");
  EXPECT_EQ(loc->prefix, "prod/");
  EXPECT_EQ(loc->endpoint, "http://127.0.0.1:7070");
  EXPECT_EQ(loc->region, "eu-west-1");
  ASSERT_TRUE(loc->path_style.has_value());
  EXPECT_TRUE(*loc->path_style);
}

TEST(ParseLocation, S3PrefixSpellingsNameTheSamePlace) {
  for (const char* url : {"s3://b/prod", "s3://b/prod/", "s3://b//prod/", "s3://b/prod//"}) {
    auto loc = parse_location(url);
    ASSERT_TRUE(loc) << url;
    EXPECT_EQ(loc->prefix, "prod/") << url;
  }
  auto bare = parse_location("s3://b");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->prefix, "");
  EXPECT_EQ(bare->to_url(), "s3://b/");
}

TEST(ParseLocation, RejectsTyposAndUnknownSchemes) {
  auto typo = parse_location("s3://b/p?endpont=http://x:1");
  ASSERT_FALSE(typo);
  EXPECT_TRUE(typo.error().is(errc::invalid_argument));
  EXPECT_NE(typo.error().message.find("endpont"), std::string::npos);

  auto bad_bool = parse_location("s3://b/p?path_style=maybe");
  ASSERT_FALSE(bad_bool);

  auto no_bucket = parse_location("s3:///prefix");
  ASSERT_FALSE(no_bucket);

  auto bad_endpoint = parse_location("s3://b/p?endpoint=127.0.0.1:7070");
  ASSERT_FALSE(bad_endpoint);
  EXPECT_NE(bad_endpoint.error().message.find("http://"), std::string::npos);

  auto gcs = parse_location("gcs://bucket/prefix?region=x");  // GCS knows endpoint= only
  ASSERT_FALSE(gcs);
  EXPECT_TRUE(gcs.error().is(errc::invalid_argument));

  auto unknown = parse_location("ftp://host/x");
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(unknown.error().is(errc::invalid_argument));

  EXPECT_FALSE(parse_location(""));
}

TEST(ParseLocation, UrlRoundTrips) {
  const std::string url = "s3://b/prod/?endpoint=http://127.0.0.1:7070&region=r&path_style=true";
  auto loc = parse_location(url);
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->to_url(), url);
}

// Issue #13 item 3: storage URLs through Boost.URL. A user:password@ in a storage URL or in its
// endpoint is refused, and no message quotes the password.
TEST(ParseLocation, UserPasswordInTheUrlIsRefusedWithoutEchoingThePassword) {
  for (const char* url : {"s3://AKIAEXAMPLE:s3cr3tpw@bkt/prod", "gs://user:s3cr3tpw@bucket/p",
                          "azure://backups:s3cr3tpw@acct.blob.core.windows.net/p", "file://u:s3cr3tpw@localhost/x",
                          "s3://bkt/p?endpoint=http://u:s3cr3tpw@127.0.0.1:7070",
                          "gs://bucket/p?endpoint=http://u:s3cr3tpw@127.0.0.1:4443",
                          "azure://acct/cont/p?endpoint=http://u:s3cr3tpw@127.0.0.1:10000"}) {
    auto loc = parse_location(url);
    ASSERT_FALSE(loc) << url << " -> " << loc->to_url();
    EXPECT_TRUE(loc.error().is(errc::invalid_argument)) << url;
    EXPECT_EQ(loc.error().message.find("s3cr3tpw"), std::string::npos) << loc.error().message;
    EXPECT_NE(loc.error().message.find("user:password@"), std::string::npos) << loc.error().message;
  }
  auto unreadable = parse_location("s3://AKIA:s3cr3tpw@b%zz/p");  // quoted as it cannot be read
  ASSERT_FALSE(unreadable);
  EXPECT_EQ(unreadable.error().message.find("s3cr3tpw"), std::string::npos) << unreadable.error().message;
}

TEST(ParseLocation, EndpointEdgeCases) {
  auto v6 = parse_location("s3://b/p?endpoint=http://[::1]:9000/");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->endpoint, "http://[::1]:9000");  // IPv6 literal, trailing slash dropped
  auto tls = parse_location("s3://b/p?endpoint=https://minio.example.com");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->endpoint, "https://minio.example.com");  // the scheme's default port
  for (const char* bad : {"s3://b/p?endpoint=http://h:1/base", "s3://b/p?endpoint=http://h:1?x=1",
                          "s3://b/p?endpoint=http://h:99999", "s3://b/p?endpoint=http://"}) {
    auto loc = parse_location(bad);
    ASSERT_FALSE(loc) << bad;
    EXPECT_NE(loc.error().message.find("S3 endpoint"), std::string::npos) << loc.error().message;
  }
  auto gcs6 = parse_location("gs://bucket/p?endpoint=http://[::1]:4443");
  ASSERT_TRUE(gcs6) << gcs6.error().message;
  EXPECT_EQ(gcs6->endpoint, "http://[::1]:4443");
}

TEST(ParseLocation, PercentEncodingSpacesAndQueries) {
  auto enc = parse_location("s3://b/team%2Fa/my%20dir?region=eu%2Dwest%2D1");
  ASSERT_TRUE(enc) << enc.error().message;
  EXPECT_EQ(enc->prefix, "team/a/my dir/");
  EXPECT_EQ(enc->region, "eu-west-1");
  // Characters a URI may not hold raw stand for themselves, as before Boost.URL read these URLs.
  auto raw = parse_location("s3://b/my dir/#1");
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_EQ(raw->prefix, "my dir/#1/");
  auto file = parse_location("file:///var/my backups");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->path, "/var/my backups");
  auto local = parse_location("file://localhost/var/b");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->path, "/var/b");
  auto bad = parse_location("s3://b/100%/x");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("%-escape"), std::string::npos) << bad.error().message;
  auto empty_pairs = parse_location("s3://b/p?&region=r&&");
  ASSERT_TRUE(empty_pairs) << empty_pairs.error().message;
  EXPECT_EQ(empty_pairs->region, "r");
  auto port_in_bucket = parse_location("s3://b:9000/p");
  EXPECT_FALSE(port_in_bucket);
}

TEST(ResolveS3Options, CredentialsAndRegionFromEnvironment) {
  auto loc = parse_location("s3://bucket/prod?endpoint=http://127.0.0.1:7070");
  ASSERT_TRUE(loc);
  auto opts = resolve_s3_options(*loc, {}, fake_env({{"AWS_ACCESS_KEY_ID", "AKID"},
                                                     {"AWS_SECRET_ACCESS_KEY", "s3cr3t-value"},
                                                     {"AWS_SESSION_TOKEN", "tok"},
                                                     {"AWS_DEFAULT_REGION", "ap-south-1"}}));
  ASSERT_TRUE(opts) << opts.error().message;
  EXPECT_EQ(opts->credentials.access_key_id, "AKID");
  EXPECT_EQ(opts->credentials.secret_access_key.reveal(), "s3cr3t-value");
  EXPECT_EQ(opts->credentials.session_token.reveal(), "tok");
  EXPECT_EQ(opts->region, "ap-south-1");
  EXPECT_TRUE(opts->path_style);  // default with an endpoint
  EXPECT_EQ(opts->prefix, "prod/");
}

TEST(ResolveS3Options, RegionPrecedence) {
  auto loc = parse_location("s3://bucket");
  ASSERT_TRUE(loc);
  const auto creds = std::map<std::string, std::string>{{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "S"}};
  auto env = creds;
  env["AWS_REGION"] = "eu-central-1";
  env["AWS_DEFAULT_REGION"] = "ap-south-1";
  EXPECT_EQ(resolve_s3_options(*loc, {}, fake_env(env))->region, "eu-central-1");
  EXPECT_EQ(resolve_s3_options(*loc, {}, fake_env(creds))->region, "us-east-1");
  EXPECT_FALSE(resolve_s3_options(*loc, {}, fake_env(creds))->path_style);
  loc->region = "us-west-2";
  EXPECT_EQ(resolve_s3_options(*loc, {}, fake_env(env))->region, "us-west-2");
}

TEST(ResolveS3Options, ExplicitSettingsWinAndMissingCredentialsAreAConfigError) {
  auto loc = parse_location("s3://bucket/p");
  ASSERT_TRUE(loc);
  store_settings settings;
  settings.access_key = "CONFIGKEY";
  settings.secret_key = secret_string("config-secret");
  auto opts = resolve_s3_options(*loc, settings, fake_env({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                                          {"AWS_SECRET_ACCESS_KEY", "env"}}));
  ASSERT_TRUE(opts);
  EXPECT_EQ(opts->credentials.access_key_id, "CONFIGKEY");

  auto missing = resolve_s3_options(*loc, {}, fake_env({{"AWS_ACCESS_KEY_ID", "ENVKEY"}}));
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(errc::config));
  EXPECT_NE(missing.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);

  store_settings half;
  half.access_key = "ONLYKEY";
  auto partial = resolve_s3_options(*loc, half, fake_env({}));
  ASSERT_FALSE(partial);
  EXPECT_TRUE(partial.error().is(errc::config));
}

TEST(ResolveS3Options, KmsKeyNeedsKmsMode) {
  auto loc = parse_location("s3://bucket/p");
  store_settings settings;
  settings.sse_kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/abc";
  auto opts = resolve_s3_options(*loc, settings, fake_env({{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "S"}}));
  ASSERT_FALSE(opts);
  EXPECT_TRUE(opts.error().is(errc::config));
}

TEST(OpenStore, FilesystemJoinsPathAndPrefixAndS3RejectsSmallParts) {
  location loc;
  loc.path = "/tmp/kb-location-test";
  loc.prefix = "prod/";
  auto store = open_store(loc, {}, fake_env({}));
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->describe(), "/tmp/kb-location-test/prod/");

  auto s3 = parse_location("s3://bucket/p?endpoint=http://127.0.0.1:1");
  store_settings settings;
  settings.part_size = 1 << 20;
  auto small = open_store(*s3, settings, fake_env({{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "S"}}));
  ASSERT_FALSE(small);
  EXPECT_TRUE(small.error().is(errc::config));

  auto ok = open_store("s3://bucket/p?endpoint=http://127.0.0.1:1",
                       fake_env({{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "S"}}));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)->describe(), "s3://bucket/p/");
}

TEST(OpenStore, UnreachableEndpointIsAConnectErrorNamingIt) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto loc = parse_location("s3://bucket/p?endpoint=http://127.0.0.1:1");
  ASSERT_TRUE(loc);
  auto opts = resolve_s3_options(*loc, {}, fake_env({{"AWS_ACCESS_KEY_ID", "A"}, {"AWS_SECRET_ACCESS_KEY", "S"}}));
  ASSERT_TRUE(opts);
  opts->max_attempts = 2;
  opts->initial_backoff = std::chrono::milliseconds(1);
  auto store = make_s3_store(std::move(*opts));
  ASSERT_TRUE(store);
  auto got = (*store)->get("x");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(errc::connect)) << got.error().message;
  EXPECT_NE(got.error().message.find("http://127.0.0.1:1"), std::string::npos);
  EXPECT_EQ(got.error().message.find("S\n"), std::string::npos);
}

}  // namespace
}  // namespace kb::storage
