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
