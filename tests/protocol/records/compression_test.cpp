#include "protocol/records/compression.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kb::protocol {
namespace {

const compression_codec all_codecs[] = {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                                        compression_codec::lz4, compression_codec::zstd};

byte_vector json_like(std::size_t n) {
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < n) {
    s += R"({"id":)" + std::to_string(rng() % 100000) + R"(,"user":"user-)" + std::to_string(rng() % 500) +
         R"(","event":"click","ts":)" + std::to_string(1700000000000 + rng() % 100000) + "}\n";
  }
  s.resize(n);
  return byte_vector(s.begin(), s.end());
}

TEST(compression, codec_ids_follow_kafka_attributes) {
  EXPECT_EQ(*codec_from_id(0), compression_codec::none);
  EXPECT_EQ(*codec_from_id(1), compression_codec::gzip);
  EXPECT_EQ(*codec_from_id(2), compression_codec::snappy);
  EXPECT_EQ(*codec_from_id(3), compression_codec::lz4);
  EXPECT_EQ(*codec_from_id(4), compression_codec::zstd);
  EXPECT_FALSE(codec_from_id(5));
  EXPECT_EQ(to_string(compression_codec::zstd), "zstd");
}

TEST(compression, round_trip_every_codec) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{70000}, std::size_t{300000}}) {
    const auto data = json_like(size);
    for (auto codec : all_codecs) {
      auto c = compress(codec, data);
      ASSERT_TRUE(c) << to_string(codec) << ": " << c.error().message;
      auto d = decompress(codec, *c, data.size());
      ASSERT_TRUE(d) << to_string(codec) << ": " << d.error().message;
      EXPECT_EQ(*d, data) << to_string(codec) << " size " << size;
      if (codec != compression_codec::none && size >= 70000) {
        EXPECT_LT(c->size(), data.size() / 2);
      }
    }
  }
}

TEST(compression, formats_carry_their_published_magic) {
  const auto data = json_like(1000);
  // RFC 1952 gzip member header.
  auto gz = compress(compression_codec::gzip, data);
  ASSERT_TRUE(gz);
  EXPECT_EQ((*gz)[0], 0x1f);
  EXPECT_EQ((*gz)[1], 0x8b);
  // LZ4 frame magic 0x184D2204 (little-endian), FLG version 01 with block independence.
  auto lz = compress(compression_codec::lz4, data);
  ASSERT_TRUE(lz);
  EXPECT_EQ((*lz)[0], 0x04);
  EXPECT_EQ((*lz)[1], 0x22);
  EXPECT_EQ((*lz)[2], 0x4d);
  EXPECT_EQ((*lz)[3], 0x18);
  EXPECT_EQ((*lz)[4] & 0xC0, 0x40);
  EXPECT_EQ((*lz)[4] & 0x20, 0x20);
  // zstd frame magic 0xFD2FB528.
  auto zs = compress(compression_codec::zstd, data);
  ASSERT_TRUE(zs);
  EXPECT_EQ((*zs)[0], 0x28);
  EXPECT_EQ((*zs)[1], 0xb5);
  EXPECT_EQ((*zs)[2], 0x2f);
  EXPECT_EQ((*zs)[3], 0xfd);
  // snappy-java (xerial) stream header as Kafka's Java producer writes it.
  auto sn = compress(compression_codec::snappy, data);
  ASSERT_TRUE(sn);
  const byte_vector xerial_header = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT_EQ(byte_vector(sn->begin(), sn->begin() + 16), xerial_header);
}

TEST(compression, snappy_xerial_framing_hand_written) {
  // Two chunks, each a raw snappy block written from the snappy format description:
  // varint uncompressed length, then a literal tag ((len-1) << 2) and the bytes.
  const byte_vector framed = {
      0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00,  // xerial magic
      0x00, 0x00, 0x00, 0x01,                    // version 1
      0x00, 0x00, 0x00, 0x01,                    // compatible version 1
      0x00, 0x00, 0x00, 0x07,                    // chunk length 7
      0x05, 0x10, 'h', 'e', 'l', 'l', 'o',       // len 5, literal of 5
      0x00, 0x00, 0x00, 0x08,                    // chunk length 8
      0x06, 0x14, ' ', 'w', 'o', 'r', 'l', 'd',  // len 6, literal of 6
  };
  auto d = decompress(compression_codec::snappy, framed);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(as_text(*d), "hello world");

  // The same first block without framing (librdkafka writes raw snappy).
  const byte_vector raw = {0x05, 0x10, 'h', 'e', 'l', 'l', 'o'};
  auto r = decompress(compression_codec::snappy, raw);
  ASSERT_TRUE(r);
  EXPECT_EQ(as_text(*r), "hello");

  // A truncated chunk is an error, not a short read.
  const byte_vector cut(framed.begin(), framed.end() - 3);
  EXPECT_FALSE(decompress(compression_codec::snappy, cut));
}

TEST(compression, snappy_raw_helper_round_trips) {
  const auto data = json_like(5000);
  auto c = snappy_compress_raw(data);
  ASSERT_TRUE(c);
  auto d = decompress(compression_codec::snappy, *c);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, data);
}

TEST(compression, xxh32_published_values) {
  // Values from the xxHash reference implementation's sanity checks.
  EXPECT_EQ(xxh32({}, 0), 0x02CC5D05u);
  EXPECT_EQ(xxh32(as_bytes("abc"), 0), 0x32D153FFu);
}

TEST(compression, lz4_legacy_broken_header_checksum_accepted_only_when_asked) {
  const auto data = json_like(2000);
  auto frame = compress(compression_codec::lz4, data);
  ASSERT_TRUE(frame);
  // Our frames have no content size and no dict id: header is magic, FLG, BD, HC.
  ASSERT_EQ((*frame)[4] & 0x09, 0);
  // KIP-57: Kafka 0.8-0.9 producers hashed magic+FLG+BD instead of FLG+BD.
  byte_vector broken = *frame;
  broken[6] = static_cast<std::uint8_t>((xxh32(byte_view(broken).first(6), 0) >> 8) & 0xFF);
  ASSERT_NE(broken[6], (*frame)[6]);
  EXPECT_FALSE(decompress(compression_codec::lz4, broken));
  decompress_options legacy;
  legacy.lz4_legacy_header_checksum = true;
  auto d = decompress(compression_codec::lz4, broken, legacy);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, data);
}

TEST(compression, corrupt_input_is_an_error) {
  const auto data = json_like(4000);
  for (auto codec : {compression_codec::gzip, compression_codec::lz4, compression_codec::zstd}) {
    auto c = compress(codec, data);
    ASSERT_TRUE(c);
    byte_vector cut(c->begin(), c->begin() + static_cast<std::ptrdiff_t>(c->size() / 2));
    auto d = decompress(codec, cut);
    ASSERT_FALSE(d) << to_string(codec);
    EXPECT_TRUE(d.error().is(errc::corrupt));
  }
  const byte_vector garbage = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (auto codec : {compression_codec::gzip, compression_codec::snappy, compression_codec::lz4,
                     compression_codec::zstd}) {
    EXPECT_FALSE(decompress(codec, garbage)) << to_string(codec);
  }
}

TEST(compression, output_is_bounded) {
  const byte_vector zeros(1 << 20, 0);
  for (auto codec : all_codecs) {
    auto c = compress(codec, zeros);
    ASSERT_TRUE(c);
    decompress_options small;
    small.max_output = 100000;
    auto d = decompress(codec, *c, small);
    ASSERT_FALSE(d) << to_string(codec);
    EXPECT_TRUE(d.error().is(errc::corrupt)) << d.error().message;
    small.max_output = zeros.size();
    EXPECT_TRUE(decompress(codec, *c, small)) << to_string(codec) << " exact limit";
  }
}

TEST(compression, bad_levels_are_rejected) {
  const auto data = json_like(10);
  EXPECT_FALSE(compress(compression_codec::gzip, data, 42));
  EXPECT_FALSE(compress(compression_codec::zstd, data, 1000));
  EXPECT_TRUE(compress(compression_codec::zstd, data, 1));
  EXPECT_TRUE(compress(compression_codec::lz4, data, 9));
}

}  // namespace
}  // namespace kb::protocol
