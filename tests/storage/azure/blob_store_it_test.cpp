// The Azure Blob store against the harness's Azurite, which verifies SharedKey and SAS signatures.
// $KB_TEST_ENV names the harness env.json (its "azure" section: cluster.py up --azurite, or
// tests/harness/azurite.py up --base-env ...); without it these tests fail.
#include "storage/azure/blob_store.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/base64.hpp"
#include "storage/azure/shared_key.hpp"
#include "storage/location.hpp"

namespace kb::storage::azure {
namespace {

struct az_env {
  std::string endpoint, account, account_key, container;
};

std::optional<az_env> load_env(std::string& why) {
  const char* path = std::getenv("KB_TEST_ENV");
  if (path == nullptr || *path == '\0') {
    why = "KB_TEST_ENV is not set: start tests/harness/cluster.py up --azurite and export KB_TEST_ENV";
    return std::nullopt;
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const auto doc = boost::json::parse(text.str(), ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("azure") || !doc.at("azure").is_object()) {
    why = std::string("env.json ") + path + " has no azure object (harness started without --azurite?)";
    return std::nullopt;
  }
  const auto& az = doc.at("azure").as_object();
  auto str = [&](const char* k) { return std::string(az.at(k).as_string().c_str()); };
  return az_env{str("endpoint"), str("account"), str("account_key"), str("container")};
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

class BlobStoreIT : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    env_ = load_env(why);
    ASSERT_TRUE(env_) << why;
    prefix_ = unique_prefix();
    auto store = make_blob_store(options());
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    if (!store_) return;
    if (auto all = store_->list("")) {
      for (const auto& o : *all) (void)store_->remove(o.key);
    }
  }
  blob_options options() const {
    blob_options o;
    o.account = env_->account;
    o.container = env_->container;
    o.prefix = prefix_;
    o.endpoint = account_endpoint(env_->account, env_->endpoint);
    o.auth = auth_mode::shared_key;
    o.account_key = secret_string(env_->account_key);
    o.credential_source = "account key (test)";
    o.block_size = 1u << 20;
    o.list_page_size = 3;  // several pages with few blobs: NextMarker is exercised
    o.retry_budget = std::chrono::milliseconds(3000);
    return o;
  }
  /// A service SAS for the container, signed as the documentation says (version 2021-12-02).
  std::string container_sas(std::string_view permissions, std::string_view expiry) const {
    const std::string canonical = fmt::format("/blob/{}/{}", env_->account, env_->container);
    const std::string sts = fmt::format("{}\n\n{}\n{}\n\n\n\n2021-12-02\nc\n\n\n\n\n\n\n", permissions, expiry,
                                        canonical);
    auto key = base64_decode(env_->account_key);
    const std::string sig = hmac_sha256_base64(*key, sts);
    return fmt::format("sv=2021-12-02&sr=c&sp={}&se={}&sig={}", permissions, url_encode(expiry), url_encode(sig));
  }

  std::optional<az_env> env_;
  std::string prefix_;
  std::unique_ptr<object_store> store_;
};

TEST_F(BlobStoreIT, PutGetHeadRangeRemove) {
  const auto data = random_bytes(1000, 1);
  ASSERT_TRUE(store_->put("a/b c.bin", data));
  auto got = store_->get("a/b c.bin");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, data);
  auto meta = store_->head("a/b c.bin");
  ASSERT_TRUE(meta) << meta.error().message;
  EXPECT_EQ(meta->size, 1000u);
  EXPECT_FALSE(meta->etag.empty());
  auto range = store_->get_range("a/b c.bin", 990, 100);
  ASSERT_TRUE(range) << range.error().message;
  EXPECT_EQ(*range, byte_vector(data.begin() + 990, data.end()));
  auto past = store_->get_range("a/b c.bin", 1000, 10);
  ASSERT_FALSE(past);
  EXPECT_TRUE(past.error().is(errc::invalid_argument)) << past.error().message;
  auto missing = store_->get("nope");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(errc::not_found));
  ASSERT_TRUE(store_->remove("a/b c.bin"));
  ASSERT_TRUE(store_->remove("a/b c.bin"));  // removing a missing blob succeeds
  EXPECT_TRUE(store_->head("a/b c.bin").error().is(errc::not_found));
}

TEST_F(BlobStoreIT, PutIfAbsentIsTheLease) {
  ASSERT_TRUE(store_->put_if_absent("lock.json", as_bytes("one")));
  auto second = store_->put_if_absent("lock.json", as_bytes("two"));
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(errc::conflict)) << second.error().message;
  EXPECT_EQ(*store_->get("lock.json"), byte_vector(as_bytes("one").begin(), as_bytes("one").end()));
}

TEST_F(BlobStoreIT, ListingPagesPrefixesAndStartAfter) {
  for (const char* k : {"t/0/a", "t/0/b", "t/0/c", "t/1/a", "t/1/b", "u/x", "t/2/z"}) {
    ASSERT_TRUE(store_->put(k, as_bytes(k)));
  }
  auto all = store_->list("t/");
  ASSERT_TRUE(all) << all.error().message;
  std::vector<std::string> keys;
  for (const auto& o : *all) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"t/0/a", "t/0/b", "t/0/c", "t/1/a", "t/1/b", "t/2/z"}));
  EXPECT_EQ((*all)[0].size, 5u);
  auto after = store_->list("t/", {.start_after = "t/0/c"});
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 3u);
  EXPECT_EQ(after->front().key, "t/1/a");
  auto dirs = store_->list_prefixes("t/");
  ASSERT_TRUE(dirs) << dirs.error().message;
  EXPECT_EQ(*dirs, (std::vector<std::string>{"t/0/", "t/1/", "t/2/"}));
  auto roots = store_->list_prefixes("");
  ASSERT_TRUE(roots);
  EXPECT_EQ(*roots, (std::vector<std::string>{"t/", "u/"}));
}

TEST_F(BlobStoreIT, LargeObjectsGoAsBlocksAndAppearOnlyOnCommit) {
  const auto data = random_bytes((3u << 20) + 12345, 7);
  ASSERT_TRUE(store_->put("big/whole", data));
  EXPECT_EQ(*store_->get("big/whole"), data);

  auto writer = store_->open_writer("big/streamed");
  ASSERT_TRUE(writer);
  for (std::size_t at = 0; at < data.size(); at += 300'000) {
    ASSERT_TRUE((*writer)->write(byte_view(data).subspan(at, std::min<std::size_t>(300'000, data.size() - at))));
  }
  // Blocks are staged, nothing is visible yet.
  EXPECT_TRUE(store_->head("big/streamed").error().is(errc::not_found));
  ASSERT_TRUE((*writer)->commit());
  auto meta = store_->head("big/streamed");
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->size, data.size());
  EXPECT_EQ(*store_->get("big/streamed"), data);
  EXPECT_EQ(*store_->get_range("big/streamed", 2u << 20, 10),
            byte_vector(data.begin() + (2 << 20), data.begin() + (2 << 20) + 10));

  auto aborted = store_->open_writer("big/aborted");
  ASSERT_TRUE(aborted);
  ASSERT_TRUE((*aborted)->write(data));
  (*aborted)->abort();
  EXPECT_TRUE(store_->head("big/aborted").error().is(errc::not_found));
}

TEST_F(BlobStoreIT, WrongKeyIs403AuthorizationNamingTheSourceWithoutTheKey) {
  auto o = options();
  const std::string wrong = base64_encode(random_bytes(64, 99));
  o.account_key = secret_string(wrong);
  auto store = make_blob_store(o);
  ASSERT_TRUE(store);
  auto r = (*store)->put("x", as_bytes("x"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::authorization)) << r.error().message;
  EXPECT_NE(r.error().message.find("403"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("account key (test)"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("storage.account_key"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find(wrong), std::string::npos);
  EXPECT_EQ(r.error().message.find(env_->account_key), std::string::npos);
  auto listed = (*store)->list("");
  ASSERT_FALSE(listed);
  EXPECT_TRUE(listed.error().is(errc::authorization));
}

TEST_F(BlobStoreIT, MissingContainerIsAConfigErrorNamingTheKey) {
  auto o = options();
  o.container = "no-such-container";
  auto store = make_blob_store(o);
  ASSERT_TRUE(store);
  auto r = (*store)->list("");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::config)) << r.error().message;
  EXPECT_NE(r.error().message.find("storage.container_name"), std::string::npos);
  EXPECT_NE(r.error().message.find("no-such-container"), std::string::npos);
}

TEST_F(BlobStoreIT, SasTokenWorksAndAnExpiredOneIs403) {
  ASSERT_TRUE(store_->put("sas/seed", as_bytes("seed")));
  auto o = options();
  o.auth = auth_mode::sas;
  o.account_key = secret_string();
  o.sas_token = secret_string(container_sas("racwdl", "2099-01-01T00:00:00Z"));
  o.credential_source = "SAS token (test)";
  auto sas = make_blob_store(o);
  ASSERT_TRUE(sas);
  ASSERT_TRUE((*sas)->put("sas/written", as_bytes("via sas"))) << "SAS put failed";
  auto listed = (*sas)->list("sas/");
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(*store_->get("sas/written"), byte_vector(as_bytes("via sas").begin(), as_bytes("via sas").end()));

  o.sas_token = secret_string(container_sas("racwdl", "2020-01-01T00:00:00Z"));
  auto expired = make_blob_store(o);
  ASSERT_TRUE(expired);
  auto r = (*expired)->get("sas/seed");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::authorization)) << r.error().message;
  EXPECT_NE(r.error().message.find("SAS token"), std::string::npos);
  EXPECT_NE(r.error().message.find("storage.sas_token"), std::string::npos);
}

TEST_F(BlobStoreIT, EndpointDownIsAConnectErrorAfterBoundedRetries) {
  auto o = options();
  o.endpoint = "http://127.0.0.1:1/" + env_->account;
  o.retry_budget = std::chrono::milliseconds(500);
  o.initial_backoff = std::chrono::milliseconds(50);
  auto store = make_blob_store(o);
  ASSERT_TRUE(store);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = (*store)->get("x");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::connect)) << r.error().message;
  EXPECT_NE(r.error().message.find("attempts"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST_F(BlobStoreIT, OpenStoreFromUrlWithKeyFromEnvironment) {
  const std::string url = fmt::format("azure://{}/{}/{}?endpoint={}", env_->account, env_->container, prefix_,
                                      env_->endpoint);
  const std::string key = env_->account_key;
  auto store = open_store(url, [key](std::string_view name) -> std::optional<std::string> {
    if (name == "AZURE_STORAGE_KEY") return key;
    return std::nullopt;
  });
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE((*store)->put("via-url", as_bytes("u")));
  EXPECT_TRUE(store_->head("via-url"));
  EXPECT_EQ((*store)->describe(), fmt::format("azure://{}/{}/{}", env_->account, env_->container, prefix_));
}

}  // namespace
}  // namespace kb::storage::azure
