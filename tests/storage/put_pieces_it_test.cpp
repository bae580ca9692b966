// object_store::put(key, pieces) on every backend against the harness's real servers (versitygw,
// Azurite, fake-gcs-server) and the filesystem: the stored object is the pieces' concatenation,
// byte for byte, for one piece, empty pieces, and pieces that S3 parts / Azure blocks / GCS chunks
// (8 MiB by default) cut inside a piece. $KB_TEST_ENV names the harness env.json.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/byte_pieces.hpp"
#include "storage/location.hpp"

namespace kb::storage {
namespace {

constexpr std::size_t part = 8u << 20;  // the default S3 part, Azure block and GCS chunk size

boost::json::object load_env() {
  const char* path = std::getenv("KB_TEST_ENV");
  EXPECT_TRUE(path != nullptr && *path != '\0') << "KB_TEST_ENV is not set: start tests/harness/cluster.py up";
  if (path == nullptr) return {};
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto doc = boost::json::parse(text.str(), ec);
  EXPECT_FALSE(ec) << "cannot parse " << path;
  return ec || !doc.is_object() ? boost::json::object{} : doc.as_object();
}

std::string str(const boost::json::object& o, const char* section, const char* key) {
  const auto* s = o.if_contains(section);
  if (s == nullptr || !s->is_object() || !s->as_object().contains(key)) return {};
  return std::string(s->as_object().at(key).as_string().c_str());
}

byte_vector random_bytes(std::size_t n, unsigned seed) {
  byte_vector out(n);
  std::mt19937 rng(seed);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

/// The backend under test: "filesystem", "s3", "s3-sha256" (SigV4 payload hash instead of the
/// CRC-32C header), "azure", "gcs".
class PutPiecesIT : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto env = load_env();
    std::random_device rd;
    const std::string prefix = fmt::format("pieces-{}{}/", rd(), rd());
    std::map<std::string, std::string> vars;
    std::string url;
    store_settings settings;
    const std::string& backend = GetParam();
    if (backend == "filesystem") {
      dir_ = std::filesystem::temp_directory_path() / prefix;
      url = dir_.string();
    } else if (backend.starts_with("s3")) {
      url = fmt::format("s3://{}/{}?endpoint={}&region={}&path_style=true", str(env, "s3", "bucket"), prefix,
                        str(env, "s3", "endpoint"), str(env, "s3", "region"));
      vars = {{"AWS_ACCESS_KEY_ID", str(env, "s3", "access_key")},
              {"AWS_SECRET_ACCESS_KEY", str(env, "s3", "secret_key")}};
      if (backend == "s3-sha256") settings.checksum = upload_checksum::sha256;
    } else if (backend == "azure") {
      url = fmt::format("azure://{}/{}/{}?endpoint={}", str(env, "azure", "account"), str(env, "azure", "container"),
                        prefix, str(env, "azure", "endpoint"));
      vars = {{"AZURE_STORAGE_KEY", str(env, "azure", "account_key")}};
    } else {
      url = fmt::format("gs://{}/{}", str(env, "gcs", "bucket"), prefix);
      vars = {{"STORAGE_EMULATOR_HOST", str(env, "gcs", "emulator_host")}};
    }
    const env_lookup lookup = [vars](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    auto where = parse_location(url);
    ASSERT_TRUE(where) << where.error().message;
    auto store = open_store(*where, settings, lookup);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    if (store_)
      if (auto all = store_->list(""))
        for (const auto& o : *all) (void)store_->remove(o.key);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  /// Stores `pieces` under `key` and checks the object holds exactly their concatenation.
  void expect_stored(const std::string& key, const std::vector<byte_view>& pieces) {
    auto put = store_->put(key, byte_pieces(pieces));
    ASSERT_TRUE(put) << key << ": " << put.error().message;
    const byte_vector want = join_pieces(pieces);
    auto meta = store_->head(key);
    ASSERT_TRUE(meta) << meta.error().message;
    EXPECT_EQ(meta->size, want.size()) << key;
    // S3 keeps a multipart object's ETag as "<hash>-<parts>": the large cases really went in parts.
    if (GetParam().starts_with("s3")) {
      EXPECT_EQ(meta->etag.find('-') != std::string::npos, want.size() > part) << key << " ETag " << meta->etag;
    }
    auto got = store_->get(key);
    ASSERT_TRUE(got) << key << ": " << got.error().message;
    EXPECT_TRUE(*got == want) << key << ": the stored bytes differ from the pieces joined";
  }

  std::filesystem::path dir_;
  std::unique_ptr<object_store> store_;
};

TEST_P(PutPiecesIT, OnePieceIsStoredAsIs) {
  const byte_vector data = random_bytes(1000, 1);
  expect_stored("one.kbs", {byte_view(data)});
}

TEST_P(PutPiecesIT, EmptyPiecesAddNothing) {
  const byte_vector data = random_bytes(300, 2);
  const byte_view d(data);
  expect_stored("gaps.kbs", {byte_view{}, d.first(10), byte_view{}, byte_view{}, d.subspan(10), byte_view{}});
  expect_stored("nothing.kbs", {byte_view{}, byte_view{}});
}

TEST_P(PutPiecesIT, PartBoundariesInsidePiecesLoseAndRepeatNothing) {
  // 2 parts + 5200 bytes: the first boundary falls 100 bytes into the third piece, the second
  // inside the fourth (a whole part long), and one piece is empty.
  const byte_vector data = random_bytes(2 * part + 5200, 3);
  const byte_view d(data);
  std::vector<byte_view> pieces{d.first(100), d.subspan(100, part - 200), d.subspan(part - 100, 300),
                                d.subspan(part + 200, part), byte_view{}, d.subspan(2 * part + 200)};
  ASSERT_EQ(pieces_size(pieces), data.size());
  expect_stored("big/segment.kbs", pieces);
}

TEST_P(PutPiecesIT, OneLargePieceGoesInPartsToo) {
  const byte_vector data = random_bytes(part + 1, 4);
  expect_stored("big/one.kbs", {byte_view(data)});
}

TEST_P(PutPiecesIT, StoresTheSameBytesAsPutOfTheJoinedBuffer) {
  const byte_vector data = random_bytes(part + 4096, 5);
  const byte_view d(data);
  ASSERT_TRUE(store_->put("joined.kbs", d));
  expect_stored("pieces.kbs", {d.first(7), d.subspan(7, part), d.subspan(part + 7)});
  auto a = store_->get("joined.kbs");
  auto b = store_->get("pieces.kbs");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(*a == *b);
}

INSTANTIATE_TEST_SUITE_P(Backends, PutPiecesIT, ::testing::Values("filesystem", "s3", "s3-sha256", "azure", "gcs"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace kb::storage
