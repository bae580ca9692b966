// The S3 store against the harness's real S3 server (versitygw, which verifies SigV4).
// $KB_TEST_ENV names the harness env.json; without it these tests fail.
#include "storage/s3_store.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/location.hpp"

namespace kb::storage {
namespace {

/// A checksum seam that sends the CRC32C of other bytes for upload `part` (0: a single PutObject).
std::function<std::string(byte_view, int)> wrong_crc32c_for_part(int part) {
  return [part](byte_view body, int n) {
    return n == part ? s3_crc32c_checksum(as_bytes("not the body that is sent")) : s3_crc32c_checksum(body);
  };
}

struct s3_env {
  std::string endpoint, region, bucket, access_key, secret_key;
};

std::optional<s3_env> load_env(std::string& why) {
  const char* path = std::getenv("KB_TEST_ENV");
  if (path == nullptr || *path == '\0') {
    why = "KB_TEST_ENV is not set: start tests/harness/cluster.py up and export KB_TEST_ENV";
    return std::nullopt;
  }
  std::ifstream in(path);
  if (!in) {
    why = std::string("cannot read KB_TEST_ENV file ") + path;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const auto doc = boost::json::parse(text.str(), ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("s3") || !doc.at("s3").is_object()) {
    why = "env.json has no s3 object (harness started with --no-s3?)";
    return std::nullopt;
  }
  const auto& s3 = doc.at("s3").as_object();
  auto str = [&](const char* k) { return std::string(s3.at(k).as_string().c_str()); };
  return s3_env{str("endpoint"), str("region"), str("bucket"), str("access_key"), str("secret_key")};
}

std::string unique_prefix() {
  std::random_device rd;
  return "it-" + std::to_string(rd()) + std::to_string(rd()) + "/";
}

byte_vector random_bytes(std::size_t n, unsigned seed) {
  byte_vector out(n);
  std::mt19937 rng(seed);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

class S3StoreIT : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    env_ = load_env(why);
    ASSERT_TRUE(env_) << why;
    prefix_ = unique_prefix();
    auto store = make_s3_store(options());
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    if (!store_) return;
    if (auto all = store_->list("")) {
      for (const auto& o : *all) (void)store_->remove(o.key);
    }
  }
  s3_options options() const {
    s3_options o;
    o.bucket = env_->bucket;
    o.prefix = prefix_;
    o.region = env_->region;
    o.endpoint = env_->endpoint;
    o.path_style = true;
    o.credentials.access_key_id = env_->access_key;
    o.credentials.secret_access_key = secret_string(env_->secret_key);
    o.part_size = s3_min_part_size;
    o.max_attempts = 3;
    o.initial_backoff = std::chrono::milliseconds(20);
    o.checksum = checksum_;
    return o;
  }

  upload_checksum checksum_ = upload_checksum::crc32c;
  std::optional<s3_env> env_;
  std::string prefix_;
  std::unique_ptr<object_store> store_;
};

TEST_F(S3StoreIT, PutGetRangeHeadDelete) {
  const std::string key = "topics/orders/0/00000000000000000000-00000000000000000009.kbs";
  ASSERT_TRUE(store_->put(key, as_bytes("0123456789"))) ;
  auto got = store_->get(key);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(as_text(*got), "0123456789");
  auto range = store_->get_range(key, 3, 4);
  ASSERT_TRUE(range) << range.error().message;
  EXPECT_EQ(as_text(*range), "3456");
  auto tail = store_->get_range(key, 8, 100);
  ASSERT_TRUE(tail) << tail.error().message;
  EXPECT_EQ(as_text(*tail), "89");
  auto past = store_->get_range(key, 10, 5);
  ASSERT_FALSE(past);
  EXPECT_TRUE(past.error().is(errc::invalid_argument)) << past.error().message;

  auto meta = store_->head(key);
  ASSERT_TRUE(meta) << meta.error().message;
  EXPECT_EQ(meta->size, 10u);
  EXPECT_FALSE(meta->etag.empty());

  ASSERT_TRUE(store_->remove(key));
  auto gone = store_->get(key);
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(errc::not_found)) << gone.error().message;
  EXPECT_TRUE(store_->head(key).error().is(errc::not_found));
  EXPECT_TRUE(store_->remove(key)) << "removing a missing key succeeds";
}

TEST_F(S3StoreIT, KeysWithAwkwardCharactersRoundTrip) {
  for (const std::string key : {"a b/c+d=e&f.kbs", "x/\xC3\xA9t\xC3\xA9/~tilde_(1).json", "q?x=1#frag"}) {
    ASSERT_TRUE(store_->put(key, as_bytes(key))) << key;
    auto got = store_->get(key);
    ASSERT_TRUE(got) << key << ": " << got.error().message;
    EXPECT_EQ(as_text(*got), key);
  }
  auto all = store_->list("");
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), 3u);
}

TEST_F(S3StoreIT, ListPaginatesAndSorts) {
  auto opts = options();
  opts.list_page_size = 2;  // force several ListObjectsV2 pages
  auto small_pages = make_s3_store(opts);
  ASSERT_TRUE(small_pages);
  std::vector<std::string> keys = {"b/2", "a/1", "a/10", "a/2", "a/b/c", "ab", "c"};
  for (const auto& k : keys) ASSERT_TRUE((*small_pages)->put(k, as_bytes(k))) << k;
  std::sort(keys.begin(), keys.end());
  auto all = (*small_pages)->list("");
  ASSERT_TRUE(all) << all.error().message;
  std::vector<std::string> listed;
  for (const auto& o : *all) listed.push_back(o.key);
  EXPECT_EQ(listed, keys);
  EXPECT_EQ((*all)[0].size, 3u);

  auto under_a = (*small_pages)->list("a/");
  ASSERT_TRUE(under_a);
  EXPECT_EQ(under_a->size(), 4u);
  auto after = (*small_pages)->list("a/", {.start_after = "a/10"});
  ASSERT_TRUE(after) << after.error().message;
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].key, "a/2");

  auto folders = (*small_pages)->list_prefixes("");
  ASSERT_TRUE(folders) << folders.error().message;
  EXPECT_EQ(*folders, (std::vector<std::string>{"a/", "b/"}));
}

TEST_F(S3StoreIT, MultipartObjectRoundTrips) {
  const byte_vector data = random_bytes(2 * s3_min_part_size + 123457, 7);  // three parts
  auto writer = store_->open_writer("big/segment.kbs");
  ASSERT_TRUE(writer);
  for (std::size_t pos = 0; pos < data.size(); pos += 1000003) {
    const std::size_t n = std::min<std::size_t>(1000003, data.size() - pos);
    ASSERT_TRUE((*writer)->write(byte_view(data).subspan(pos, n)));
  }
  EXPECT_TRUE(store_->list("big/")->empty()) << "nothing visible before commit";
  auto committed = (*writer)->commit();
  ASSERT_TRUE(committed) << committed.error().message;
  auto meta = store_->head("big/segment.kbs");
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->size, data.size());
  EXPECT_NE(meta->etag.find('-'), std::string::npos) << "a multipart ETag ends in -<parts>: " << meta->etag;
  auto got = store_->get("big/segment.kbs");
  ASSERT_TRUE(got);
  EXPECT_TRUE(*got == data);
  auto range = store_->get_range("big/segment.kbs", s3_min_part_size - 3, 6);
  ASSERT_TRUE(range);
  EXPECT_EQ(*range, byte_vector(data.begin() + s3_min_part_size - 3, data.begin() + s3_min_part_size + 3));

  // put() of a large buffer goes through multipart as well.
  ASSERT_TRUE(store_->put("big/put.kbs", data));
  EXPECT_TRUE(*store_->get("big/put.kbs") == data);
}

TEST_F(S3StoreIT, AbortedMultipartLeavesNothingVisible) {
  const byte_vector data = random_bytes(s3_min_part_size + 4096, 9);
  {
    auto writer = store_->open_writer("aborted.kbs");
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->write(data));
    ASSERT_TRUE((*writer)->write(as_bytes("more")));  // the first part is now uploaded
    (*writer)->abort();
  }
  {
    auto writer = store_->open_writer("dropped.kbs");
    ASSERT_TRUE(writer);
    ASSERT_TRUE((*writer)->write(data));
    ASSERT_TRUE((*writer)->write(as_bytes("more")));
  }  // destroyed uncommitted
  EXPECT_TRUE(store_->get("aborted.kbs").error().is(errc::not_found));
  EXPECT_TRUE(store_->get("dropped.kbs").error().is(errc::not_found));
  auto all = store_->list("");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(S3StoreIT, SmallWriterUsesASinglePut) {
  auto writer = store_->open_writer("small.json");
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->write(as_bytes("{\"a\":")));
  ASSERT_TRUE((*writer)->write(as_bytes("1}")));
  ASSERT_TRUE((*writer)->commit());
  EXPECT_EQ(as_text(*store_->get("small.json")), "{\"a\":1}");
}

TEST_F(S3StoreIT, WrongSecretIsAnAuthorizationErrorWithoutTheSecret) {
  auto opts = options();
  const std::string wrong = "definitely-not-the-secret-" + std::to_string(std::random_device{}());
  opts.credentials.secret_access_key = secret_string(wrong);
  auto store = make_s3_store(std::move(opts));
  ASSERT_TRUE(store);
  auto put = (*store)->put("x", as_bytes("x"));
  ASSERT_FALSE(put);
  EXPECT_TRUE(put.error().is(errc::authorization)) << put.error().message;
  EXPECT_NE(put.error().message.find("SignatureDoesNotMatch"), std::string::npos) << put.error().message;
  EXPECT_NE(put.error().message.find("secret"), std::string::npos) << "names the fix";
  EXPECT_EQ(put.error().message.find(wrong), std::string::npos);
  EXPECT_EQ(put.error().message.find(env_->secret_key), std::string::npos);
  EXPECT_EQ(exit_code_for(put.error()), exit_code::access);

  auto list = (*store)->list("");
  ASSERT_FALSE(list);
  EXPECT_TRUE(list.error().is(errc::authorization));
}

TEST_F(S3StoreIT, UnknownAccessKeyIsAnAuthorizationError) {
  auto opts = options();
  opts.credentials.access_key_id = "AKIDNOSUCHKEY";
  auto store = make_s3_store(std::move(opts));
  ASSERT_TRUE(store);
  auto got = (*store)->get("x");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(errc::authorization)) << got.error().message;
  // The key is named by its last four characters only (masked_key_id), enough to tell keys apart.
  EXPECT_NE(got.error().message.find("access key ****HKEY"), std::string::npos) << got.error().message;
  EXPECT_EQ(got.error().message.find("AKIDNOSUCHKEY"), std::string::npos) << got.error().message;
}

TEST_F(S3StoreIT, MissingBucketIsNotFound) {
  auto opts = options();
  opts.bucket = "kb-no-such-bucket-" + std::to_string(std::random_device{}() % 100000);
  auto store = make_s3_store(std::move(opts));
  ASSERT_TRUE(store);
  auto list = (*store)->list("");
  ASSERT_FALSE(list);
  EXPECT_TRUE(list.error().is(errc::not_found)) << list.error().message;
  EXPECT_NE(list.error().message.find("bucket"), std::string::npos);
}

TEST_F(S3StoreIT, OpenStoreFromAUrlWithEnvironmentCredentials) {
  const std::string url = "s3://" + env_->bucket + "/" + prefix_ + "?endpoint=" + env_->endpoint +
                          "&region=" + env_->region;
  std::map<std::string, std::string> vars{{"AWS_ACCESS_KEY_ID", env_->access_key},
                                          {"AWS_SECRET_ACCESS_KEY", env_->secret_key}};
  auto store = open_store(url, [&](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE((*store)->put("via-url", as_bytes("u")));
  EXPECT_EQ(as_text(*store_->get("via-url")), "u") << "the URL names the same place";
}

// An endpoint written with a trailing '/' (AWS_ENDPOINT_URL=http://host:port/ as the AWS CLI
// accepts it) names the same server: the requests go to, and are signed for, host:port only.
TEST_F(S3StoreIT, EndpointWithATrailingSlashFromTheEnvironment) {
  const std::string url = "s3://" + env_->bucket + "/" + prefix_ + "?region=" + env_->region;
  std::map<std::string, std::string> vars{{"AWS_ACCESS_KEY_ID", env_->access_key},
                                          {"AWS_SECRET_ACCESS_KEY", env_->secret_key},
                                          {"AWS_ENDPOINT_URL", env_->endpoint + "/"}};
  auto store = open_store(url, [&](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  ASSERT_TRUE(store) << store.error().message;
  auto put = (*store)->put("via-slash", as_bytes("s"));
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(as_text(*store_->get("via-slash")), "s") << "the endpoint names the same server";
}

TEST_F(S3StoreIT, ConcurrentPutsFromThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (!store_->put(fmt::format("t{}/{}", t, i), as_bytes("v"))) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->list("")->size(), 20u);
}

// Both upload_checksum modes against the real server: versitygw checks the SigV4 payload hash
// (sha256) or the x-amz-checksum-crc32c header (crc32c) of every body.
class S3ChecksumIT : public S3StoreIT, public ::testing::WithParamInterface<upload_checksum> {
 protected:
  void SetUp() override {
    checksum_ = GetParam();
    S3StoreIT::SetUp();
  }
};

TEST_P(S3ChecksumIT, SmallMultipartAndRangedObjectsRoundTrip) {
  ASSERT_TRUE(store_->put("small.kbs", as_bytes("0123456789")));
  EXPECT_EQ(as_text(*store_->get("small.kbs")), "0123456789");
  auto range = store_->get_range("small.kbs", 2, 5);
  ASSERT_TRUE(range) << range.error().message;
  EXPECT_EQ(as_text(*range), "23456");

  // Streaming writer: three parts, the last one short.
  const byte_vector data = random_bytes(2 * s3_min_part_size + 777, 11);
  auto writer = store_->open_writer("big/streamed.kbs");
  ASSERT_TRUE(writer);
  for (std::size_t pos = 0; pos < data.size(); pos += 3000017) {
    ASSERT_TRUE((*writer)->write(byte_view(data).subspan(pos, std::min<std::size_t>(3000017, data.size() - pos))));
  }
  auto committed = (*writer)->commit();
  ASSERT_TRUE(committed) << committed.error().message;
  auto got = store_->get("big/streamed.kbs");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(*got == data);
  auto across = store_->get_range("big/streamed.kbs", 2 * s3_min_part_size - 5, 10);
  ASSERT_TRUE(across) << across.error().message;
  EXPECT_EQ(*across, byte_vector(data.begin() + 2 * s3_min_part_size - 5, data.begin() + 2 * s3_min_part_size + 5));

  // put() of a buffer above the part size: multipart straight from the buffer.
  ASSERT_TRUE(store_->put("big/put.kbs", data));
  auto meta = store_->head("big/put.kbs");
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->size, data.size());
  EXPECT_NE(meta->etag.find('-'), std::string::npos) << "multipart ETag: " << meta->etag;
  EXPECT_TRUE(*store_->get("big/put.kbs") == data);
}

TEST_P(S3ChecksumIT, AWrongChecksumSeamOnlyAffectsCrc32cUploads) {
  auto opts = options();
  opts.crc32c_checksum = wrong_crc32c_for_part(0);
  auto store = make_s3_store(opts);
  ASSERT_TRUE(store);
  auto put = (*store)->put("maybe.kbs", as_bytes("payload"));
  // sha256 sends no x-amz-checksum-crc32c at all, so there is nothing to corrupt.
  EXPECT_EQ(static_cast<bool>(put), GetParam() == upload_checksum::sha256)
      << (put ? std::string("accepted") : put.error().message);
}

INSTANTIATE_TEST_SUITE_P(Modes, S3ChecksumIT,
                         ::testing::Values(upload_checksum::crc32c, upload_checksum::sha256),
                         [](const auto& param_info) {
                           return param_info.param == upload_checksum::crc32c ? std::string("crc32c")
                                                                        : std::string("sha256");
                         });

TEST_F(S3StoreIT, PutWithAWrongCrc32cIsRejectedByTheServer) {
  auto opts = options();
  opts.crc32c_checksum = wrong_crc32c_for_part(0);
  auto bad = make_s3_store(opts);
  ASSERT_TRUE(bad);
  auto put = (*bad)->put("rejected.kbs", as_bytes("the body the checksum does not match"));
  ASSERT_FALSE(put) << "the server accepted a body whose x-amz-checksum-crc32c is wrong";
  EXPECT_TRUE(put.error().is(errc::io)) << put.error().message;
  EXPECT_NE(put.error().message.find("rejected.kbs"), std::string::npos) << put.error().message;
  EXPECT_NE(put.error().message.find("BadDigest"), std::string::npos) << put.error().message;
  EXPECT_NE(put.error().message.find("checksum did not match"), std::string::npos) << put.error().message;
  auto got = store_->get("rejected.kbs");
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().is(errc::not_found)) << got.error().message;
  EXPECT_TRUE(store_->list("")->empty());
}

TEST_F(S3StoreIT, MultipartWithOneWrongPartCrc32cIsRejectedAndLeavesNothing) {
  auto opts = options();
  opts.crc32c_checksum = wrong_crc32c_for_part(2);
  auto bad = make_s3_store(opts);
  ASSERT_TRUE(bad);
  const byte_vector data = random_bytes(2 * s3_min_part_size + 4096, 13);  // three parts

  auto writer = (*bad)->open_writer("streamed.kbs");
  ASSERT_TRUE(writer);
  result<void> wrote;
  for (std::size_t pos = 0; pos < data.size() && wrote; pos += 1 << 20) {
    wrote = (*writer)->write(byte_view(data).subspan(pos, std::min<std::size_t>(1 << 20, data.size() - pos)));
  }
  // Part 2 fails while later writes or the commit wait for it.
  const result<void> outcome = wrote ? (*writer)->commit() : wrote;
  ASSERT_FALSE(outcome) << "the server accepted part 2 with a wrong x-amz-checksum-crc32c";
  EXPECT_NE(outcome.error().message.find("checksum did not match"), std::string::npos) << outcome.error().message;
  EXPECT_NE(outcome.error().message.find("streamed.kbs"), std::string::npos) << outcome.error().message;

  auto put = (*bad)->put("buffered.kbs", data);
  ASSERT_FALSE(put) << "the server accepted part 2 with a wrong x-amz-checksum-crc32c";
  EXPECT_NE(put.error().message.find("checksum did not match"), std::string::npos) << put.error().message;

  EXPECT_TRUE(store_->get("streamed.kbs").error().is(errc::not_found));
  EXPECT_TRUE(store_->get("buffered.kbs").error().is(errc::not_found));
  EXPECT_TRUE(store_->list("")->empty());
}

}  // namespace
}  // namespace kb::storage
