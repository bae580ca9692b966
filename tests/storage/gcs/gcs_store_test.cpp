// Unit tests of the GCS store over a scripted HTTP: the JSON API requests it sends (multipart with
// crc32c, ifGenerationMatch=0, kmsKeyName, resumable chunks), pagination, retries, a fresh token
// after a 401, error mapping; and gs:// URL parsing and endpoint resolution.
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/base64.hpp"
#include "base/crc32c.hpp"
#include "storage/gcs/gcs_location.hpp"
#include "storage/gcs/gcs_store.hpp"

namespace kb::storage::gcs {
namespace {

using namespace std::chrono_literals;

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

http_response_data reply(long status, std::string body = {}, http_headers headers = {}) {
  http_response_data r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

struct scripted {
  struct seen_request {
    std::string method, url, body;
    http_headers headers;
    std::string header(std::string_view name) const {
      for (const auto& [n, v] : headers) {
        if (n == name) return v;
      }
      return {};
    }
  };
  std::vector<seen_request> seen;
  std::vector<http_response_data> replies;
  std::size_t next = 0;
  http_send_fn fn() {
    return [this](const http_request& r) {
      std::string body;
      for (const byte_view piece : r.body) body += as_text(piece);
      seen.push_back({r.method, r.url, std::move(body), r.headers});
      http_response_data out = next < replies.size() ? replies[next++] : reply(599, "script ended");
      if (r.download != nullptr && out.ok()) {
        // As http_transport does: a 2xx body goes to the caller's buffer.
        r.download->assign(out.body.begin(), out.body.end());
        out.body.clear();
      }
      return out;
    };
  }
};

/// A provider that hands out "tok-N", counting fetches.
std::shared_ptr<token_provider> counting_tokens(int& fetches) {
  auto fetch = [&fetches]() -> result<access_token> {
    ++fetches;
    return access_token{secret_string(fmt::format("tok-{}", fetches)), std::nullopt};
  };
  auto first = fetch();
  return std::make_shared<token_provider>("test tokens", fetch, std::move(*first),
                                          [] { return std::chrono::system_clock::now(); });
}

std::unique_ptr<object_store> store_with(scripted& http, int& fetches, std::size_t chunk = 256u << 10) {
  gcs_options o;
  o.bucket = "bkt";
  o.prefix = "prod/";
  o.endpoint = "http://127.0.0.1:4443";
  o.kms_key_name = "projects/p/locations/l/keyRings/r/cryptoKeys/k";
  o.tokens = counting_tokens(fetches);
  o.http = http.fn();
  o.chunk_size = chunk;
  o.initial_backoff = 1ms;
  o.max_backoff = 2ms;
  o.retry_budget = 5s;
  auto s = make_gcs_store(std::move(o));
  EXPECT_TRUE(s);
  return std::move(*s);
}

TEST(GcsStore, PutIfAbsentIsAMultipartInsertWithGenerationZeroCrcAndKms) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(200, R"({"name":"prod/lease"})"), reply(412, R"({"error":{"code":412,"message":"Precondition Failed"}})")};
  auto store = store_with(http, fetches);
  ASSERT_TRUE(store->put_if_absent("lease", as_bytes(std::string_view("123456789"))));
  ASSERT_EQ(http.seen.size(), 1u);
  const auto& r = http.seen[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://127.0.0.1:4443/upload/storage/v1/b/bkt/o?uploadType=multipart&ifGenerationMatch=0"
                   "&kmsKeyName=projects%2Fp%2Flocations%2Fl%2FkeyRings%2Fr%2FcryptoKeys%2Fk");
  EXPECT_EQ(r.header("Authorization"), "Bearer tok-1");
  EXPECT_TRUE(r.header("Content-Type").starts_with("multipart/related; boundary="));
  // The CRC-32C of "123456789" is 0xE3069283 (RFC 3720 check value): base64 "4waSgw==".
  EXPECT_NE(r.body.find(R"({"name":"prod/lease","crc32c":"4waSgw=="})"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\r\n\r\n123456789\r\n--"), std::string::npos);
  auto again = store->put_if_absent("lease", as_bytes(std::string_view("x")));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is(errc::conflict));
}

TEST(GcsStore, RangedReadHeadAndDeleteUseTheEncodedObjectName) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(206, "bcd"), reply(200, R"({"name":"prod/a b/c","size":"42","etag":"CJ"})"),
                  reply(404, R"({"error":{"code":404,"message":"No such object: bkt/prod/a b/c"}})")};
  auto store = store_with(http, fetches);
  auto got = store->get_range("a b/c", 1, 3);
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(got->begin(), got->end()), "bcd");
  EXPECT_EQ(http.seen[0].url, "http://127.0.0.1:4443/storage/v1/b/bkt/o/prod%2Fa%20b%2Fc?alt=media");
  EXPECT_EQ(http.seen[0].header("Range"), "bytes=1-3");
  auto meta = store->head("a b/c");
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->size, 42u);
  EXPECT_TRUE(store->remove("a b/c"));  // already gone: fine
  EXPECT_EQ(http.seen[2].method, "DELETE");
}

TEST(GcsStore, ListingFollowsPageTokensAndStripsThePrefix) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(200, R"({"items":[{"name":"prod/b","size":"2"},{"name":"prod/a","size":"1"}],"nextPageToken":"T 2"})"),
                  reply(200, R"({"items":[{"name":"prod/c/d","size":"3"}]})")};
  auto store = store_with(http, fetches);
  auto all = store->list("");
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].key, "a");
  EXPECT_EQ((*all)[2].key, "c/d");
  EXPECT_EQ((*all)[2].size, 3u);
  ASSERT_EQ(http.seen.size(), 2u);
  EXPECT_EQ(http.seen[0].url, "http://127.0.0.1:4443/storage/v1/b/bkt/o?prefix=prod%2F&maxResults=1000");
  EXPECT_EQ(http.seen[1].url, "http://127.0.0.1:4443/storage/v1/b/bkt/o?prefix=prod%2F&maxResults=1000&pageToken=T%202");
}

TEST(GcsStore, ListPrefixesUsesTheDelimiter) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(200, R"({"prefixes":["prod/b2/","prod/b1/"]})")};
  auto store = store_with(http, fetches);
  auto ids = store->list_prefixes("");
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"b1/", "b2/"}));
  EXPECT_NE(http.seen[0].url.find("&delimiter=%2F"), std::string::npos);
}

TEST(GcsStore, RetriesServerErrorsAndRefreshesTheTokenOnce) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(503), reply(429), reply(401), reply(200, "data")};
  auto store = store_with(http, fetches);
  auto got = store->get("k");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(http.seen.size(), 4u);
  EXPECT_EQ(http.seen[2].header("Authorization"), "Bearer tok-1");
  EXPECT_EQ(http.seen[3].header("Authorization"), "Bearer tok-2");  // refetched after the 401
  EXPECT_EQ(fetches, 2);
}

TEST(GcsStore, A401AfterARefreshIsAnAuthorizationErrorNamingTheSource) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(401, R"({"error":{"code":401,"message":"Invalid Credentials"}})"),
                  reply(401, R"({"error":{"code":401,"message":"Invalid Credentials"}})")};
  auto store = store_with(http, fetches);
  auto got = store->get("k");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(errc::authorization));
  EXPECT_NE(got.error().message.find("test tokens"), std::string::npos) << got.error().message;
  EXPECT_NE(got.error().message.find("Invalid Credentials"), std::string::npos);
  EXPECT_EQ(got.error().message.find("tok-"), std::string::npos);  // never the token
}

TEST(GcsStore, MissingBucketIsAConfigErrorNamingTheKey) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(404, R"({"error":{"code":404,"message":"The specified bucket does not exist."}})")};
  auto store = store_with(http, fetches);
  auto l = store->list("");
  ASSERT_FALSE(l);
  EXPECT_TRUE(l.error().is(errc::config));
  EXPECT_NE(l.error().message.find("storage.bucket"), std::string::npos);
  EXPECT_NE(l.error().message.find("'bkt'"), std::string::npos);
}

TEST(GcsStore, ForbiddenNamesTheRole) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(403, R"({"error":{"code":403,"message":"caller does not have storage.objects.get access"}})")};
  auto store = store_with(http, fetches);
  auto got = store->get("k");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(errc::authorization));
  EXPECT_NE(got.error().message.find("roles/storage.objectAdmin"), std::string::npos);
}

TEST(GcsStore, WriterUploadsResumableChunksAndResendsWhatTheServerDidNotKeep) {
  scripted http;
  int fetches = 0;
  constexpr std::size_t chunk = 256u << 10;
  const std::string session = "http://127.0.0.1:4443/upload/resumable/abc";
  http.replies = {reply(200, "", {{"location", session}}),
                  reply(308, "", {{"range", fmt::format("bytes=0-{}", chunk - 1001)}}),  // kept all but 1000
                  reply(308, "", {{"range", fmt::format("bytes=0-{}", chunk - 1)}}),
                  reply(200, R"({"name":"prod/seg"})")};
  auto store = store_with(http, fetches, chunk);
  auto w = store->open_writer("seg");
  ASSERT_TRUE(w);
  std::string data(chunk + 5000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE((*w)->write(as_bytes(std::string_view(data).substr(0, 1000))));
  ASSERT_TRUE((*w)->write(as_bytes(std::string_view(data).substr(1000))));
  ASSERT_TRUE((*w)->commit());
  ASSERT_EQ(http.seen.size(), 4u);
  EXPECT_EQ(http.seen[0].method, "POST");
  EXPECT_NE(http.seen[0].url.find("uploadType=resumable"), std::string::npos);
  EXPECT_NE(http.seen[0].body.find(R"("name":"prod/seg")"), std::string::npos);
  EXPECT_EQ(http.seen[1].url, session);
  EXPECT_EQ(http.seen[1].header("Content-Range"), fmt::format("bytes 0-{}/*", chunk - 1));
  EXPECT_EQ(http.seen[2].header("Content-Range"), fmt::format("bytes {}-{}/*", chunk - 1000, chunk - 1));
  EXPECT_EQ(http.seen[2].body, data.substr(chunk - 1000, 1000));
  EXPECT_EQ(http.seen[3].header("Content-Range"), fmt::format("bytes {}-{}/{}", chunk, data.size() - 1, data.size()));
  EXPECT_TRUE(http.seen[3].header("X-Goog-Hash").starts_with("crc32c="));
  EXPECT_EQ(http.seen[3].body, data.substr(chunk));
}

TEST(GcsStore, PiecesAboveAChunkGoResumableChunksCutAcrossPiecesAndResendFromInsideAPiece) {
  scripted http;
  int fetches = 0;
  constexpr std::size_t chunk = 256u << 10;
  const std::string session = "http://127.0.0.1:4443/upload/resumable/def";
  http.replies = {reply(200, "", {{"location", session}}),
                  reply(308, "", {{"range", "bytes=0-499"}}),  // kept only part of the first piece
                  reply(308, "", {{"range", fmt::format("bytes=0-{}", chunk - 1)}}),
                  reply(200, R"({"name":"prod/seg"})")};
  auto store = store_with(http, fetches, chunk);
  std::string data(chunk + 6000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  const byte_view all = as_bytes(data);
  // The chunk boundary falls inside the second piece; one piece is empty.
  const std::vector<byte_view> pieces{all.first(1000), byte_view{}, all.subspan(1000, chunk), all.subspan(chunk + 1000)};
  ASSERT_TRUE(store->put("seg", byte_pieces(pieces)));
  ASSERT_EQ(http.seen.size(), 4u);
  EXPECT_NE(http.seen[0].url.find("uploadType=resumable"), std::string::npos);
  EXPECT_EQ(http.seen[1].header("Content-Range"), fmt::format("bytes 0-{}/*", chunk - 1));
  EXPECT_EQ(http.seen[1].body, data.substr(0, chunk));
  EXPECT_EQ(http.seen[2].header("Content-Range"), fmt::format("bytes 500-{}/*", chunk - 1));
  EXPECT_EQ(http.seen[2].body, data.substr(500, chunk - 500));
  EXPECT_EQ(http.seen[3].header("Content-Range"), fmt::format("bytes {}-{}/{}", chunk, data.size() - 1, data.size()));
  EXPECT_EQ(http.seen[3].body, data.substr(chunk));
  // The crc32c GCS checks is that of the whole object, computed over the pieces.
  const std::uint32_t crc = kb::crc32c(all);
  const std::uint8_t be[4] = {static_cast<std::uint8_t>(crc >> 24), static_cast<std::uint8_t>(crc >> 16),
                              static_cast<std::uint8_t>(crc >> 8), static_cast<std::uint8_t>(crc)};
  EXPECT_EQ(http.seen[3].header("X-Goog-Hash"), "crc32c=" + base64_encode(byte_view(be, 4)));
}

TEST(GcsStore, SmallWriterCommitIsOneMultipartRequest) {
  scripted http;
  int fetches = 0;
  http.replies = {reply(200, "{}")};
  auto store = store_with(http, fetches);
  auto w = store->open_writer("small");
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(as_bytes(std::string_view("hello"))));
  ASSERT_TRUE((*w)->commit());
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_NE(http.seen[0].url.find("uploadType=multipart"), std::string::npos);
  EXPECT_EQ(http.seen[0].url.find("ifGenerationMatch"), std::string::npos);
}

TEST(GcsLocation, ParsesBothSchemesPrefixAndEndpoint) {
  auto a = parse_location("gs://my-bucket/prod//daily");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->kind, backend_kind::gcs);
  EXPECT_EQ(a->bucket, "my-bucket");
  EXPECT_EQ(a->prefix, "prod/daily/");
  EXPECT_EQ(a->to_url(), "gs://my-bucket/prod/daily/");
  auto b = parse_location("gcs://my-bucket?endpoint=http://127.0.0.1:4443/");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->prefix, "");
  EXPECT_EQ(b->endpoint, "http://127.0.0.1:4443");
  EXPECT_EQ(b->to_url(), "gs://my-bucket/?endpoint=http://127.0.0.1:4443");
  auto round = parse_location(b->to_url());
  ASSERT_TRUE(round);
  EXPECT_EQ(round->endpoint, b->endpoint);
}

TEST(GcsLocation, RefusesBadBucketsAndUnknownParameters) {
  EXPECT_FALSE(parse_location("gs://Upper/x"));
  EXPECT_FALSE(parse_location("gs://ab/x"));
  EXPECT_FALSE(parse_location("gs:///x"));
  auto unknown = parse_location("gs://bucket/x?region=us");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("region"), std::string::npos);
  EXPECT_FALSE(parse_location("gs://bucket/x?endpoint=ftp://h"));
}

TEST(GcsLocation, EndpointFromConfigThenEmulatorVariableThenGoogle) {
  location where;
  where.kind = backend_kind::gcs;
  where.bucket = "bkt";
  auto google = resolve_endpoint(where, fake_env({}));
  ASSERT_TRUE(google);
  EXPECT_EQ(google->url, "https://storage.googleapis.com");
  EXPECT_FALSE(google->emulator);
  auto emu = resolve_endpoint(where, fake_env({{"STORAGE_EMULATOR_HOST", "127.0.0.1:4443"}}));
  ASSERT_TRUE(emu);
  EXPECT_EQ(emu->url, "http://127.0.0.1:4443");
  EXPECT_TRUE(emu->emulator);
  where.endpoint = "https://private.googleapis.example";
  auto own = resolve_endpoint(where, fake_env({{"STORAGE_EMULATOR_HOST", "127.0.0.1:4443"}}));
  ASSERT_TRUE(own);
  EXPECT_EQ(own->url, "https://private.googleapis.example");
  EXPECT_FALSE(own->emulator);
}

}  // namespace
}  // namespace kb::storage::gcs
