// murmur2 against Kafka's Java client: the expected values were printed by
// org.apache.kafka.common.utils.Utils.murmur2 / toPositive from kafka-clients-4.1.1.jar.
#include "pipeline/restore/partitioner.hpp"

#include <string>

#include <gtest/gtest.h>

namespace kb::pipeline::restore {
namespace {

struct vec {
  const char* key;
  std::int32_t hash;
  std::int32_t p7;
  std::int32_t p12;
};
const vec java_vectors[] = {
    {"", 275646681, 2, 9},
    {"a", -1563381124, 5, 4},
    {"ab", 316155434, 0, 2},
    {"abc", 479470107, 4, 3},
    {"abcd", -1323649548, 5, 8},
    {"abcde", 461995741, 4, 1},
    {"kafka", -798503068, 3, 4},
    {"order-42", 501153024, 1, 0},
    {"The quick brown fox jumps over the lazy dog", 495243318, 3, 6},
    {"\xc3\xa9t\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac", 1580312863, 3, 7},  // "été-日本" in UTF-8
};

TEST(partitioner, murmur2_matches_the_java_client) {
  for (const auto& v : java_vectors) {
    const std::string k = v.key;
    byte_view key(reinterpret_cast<const std::uint8_t*>(k.data()), k.size());
    EXPECT_EQ(murmur2(key), v.hash) << k;
    EXPECT_EQ(partition_for_key(key, 7), v.p7) << k;
    EXPECT_EQ(partition_for_key(key, 12), v.p12) << k;
  }
  byte_vector bin(256);
  for (int i = 0; i < 256; ++i) bin[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(murmur2(bin), -1948347274);  // bytes 0..255: high bytes exercise the & 0xff masking
}

TEST(partitioner, null_keys_go_round_robin) {
  murmur2_partitioner p(3);
  EXPECT_EQ(p.choose(std::nullopt), 0);
  EXPECT_EQ(p.choose(std::nullopt), 1);
  EXPECT_EQ(p.choose(std::nullopt), 2);
  EXPECT_EQ(p.choose(std::nullopt), 0);
  const std::string k = "kafka";
  murmur2_partitioner twelve(12);
  EXPECT_EQ(twelve.choose(byte_view(reinterpret_cast<const std::uint8_t*>(k.data()), k.size())), 4);  // Java: 4
}

}  // namespace
}  // namespace kb::pipeline::restore
