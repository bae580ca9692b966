// The x-amz-checksum-crc32c value (base64 of the big-endian CRC-32C, on RFC 3720 B.4 vectors),
// and the upload_checksum setting reaching the S3 client options.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/location.hpp"
#include "storage/s3_store.hpp"

namespace kb::storage {
namespace {

TEST(s3_crc32c_checksum, base64_of_the_big_endian_crc_of_published_vectors) {
  // RFC 3720 B.4: 32 bytes of zeros -> 0x8A9136AA = 8a 91 36 aa -> "ipE2qg==".
  const std::vector<std::uint8_t> zeros(32, 0x00);
  EXPECT_EQ(s3_crc32c_checksum(zeros), "ipE2qg==");
  // 32 bytes of 0xFF -> 0x62A8AB43.
  const std::vector<std::uint8_t> ones(32, 0xFF);
  EXPECT_EQ(s3_crc32c_checksum(ones), "YqirQw==");
  // The catalogue check value: "123456789" -> 0xE3069283.
  EXPECT_EQ(s3_crc32c_checksum(as_bytes(std::string("123456789"))), "4waSgw==");
  EXPECT_EQ(s3_crc32c_checksum({}), "AAAAAA==");
}

TEST(s3_crc32c_checksum, upload_checksum_setting_reaches_the_s3_options) {
  location where;
  where.kind = backend_kind::s3;
  where.bucket = "b";
  const env_lookup env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "AWS_ACCESS_KEY_ID") return "AKIDEXAMPLE";
    if (name == "AWS_SECRET_ACCESS_KEY") return "secret";
    return std::nullopt;
  };
  store_settings settings;
  auto defaults = resolve_s3_options(where, settings, env);
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->checksum, upload_checksum::crc32c);
  EXPECT_FALSE(defaults->crc32c_checksum) << "the CLI computes the real checksum";
  settings.checksum = upload_checksum::sha256;
  auto sha = resolve_s3_options(where, settings, env);
  ASSERT_TRUE(sha) << sha.error().message;
  EXPECT_EQ(sha->checksum, upload_checksum::sha256);
}

}  // namespace
}  // namespace kb::storage
