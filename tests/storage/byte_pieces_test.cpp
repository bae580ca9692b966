// byte_pieces: parts cut across piece boundaries without a copy, and the size, CRC-32C, MD5 and
// SHA-256 of the pieces equal those of the joined bytes.
#include "storage/byte_pieces.hpp"

#include <gtest/gtest.h>

#include "base/crc32c.hpp"

namespace kb::storage {
namespace {

TEST(split_parts, CutsInsidePiecesDropsEmptyOnesAndPointsIntoThePieces) {
  const byte_vector a{1, 2, 3, 4, 5};
  const byte_vector b{6, 7};
  const std::vector<byte_view> pieces{byte_view(a), byte_view{}, byte_view(b)};
  const auto parts = split_parts(pieces, 3);
  ASSERT_EQ(parts.size(), 3u);
  ASSERT_EQ(parts[0].size(), 1u);
  EXPECT_EQ(parts[0][0].data(), a.data());  // a view, not a copy
  EXPECT_EQ(parts[0][0].size(), 3u);
  ASSERT_EQ(parts[1].size(), 2u);  // the end of `a` and the start of `b`
  EXPECT_EQ(parts[1][0].data(), a.data() + 3);
  EXPECT_EQ(parts[1][0].size(), 2u);
  EXPECT_EQ(parts[1][1].data(), b.data());
  EXPECT_EQ(parts[1][1].size(), 1u);
  ASSERT_EQ(parts[2].size(), 1u);
  EXPECT_EQ(parts[2][0].data(), b.data() + 1);
}

TEST(split_parts, ExactFitsAndEmptyBodies) {
  const byte_vector a(6, 9);
  const std::vector<byte_view> one{byte_view(a)};
  EXPECT_EQ(split_parts(one, 3).size(), 2u);  // no empty third part
  EXPECT_EQ(split_parts(one, 6).size(), 1u);
  EXPECT_EQ(split_parts(one, 100).size(), 1u);
  const std::vector<byte_view> none{byte_view{}, byte_view{}};
  EXPECT_TRUE(split_parts(none, 3).empty());
  EXPECT_TRUE(split_parts({}, 3).empty());
}

TEST(byte_pieces, DigestsOfThePiecesAreThoseOfTheJoinedBytes) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  const byte_view all = as_bytes(text);
  const std::vector<byte_view> pieces{all.first(4), byte_view{}, all.subspan(4, 20), all.subspan(24)};
  EXPECT_EQ(pieces_size(pieces), text.size());
  EXPECT_EQ(join_pieces(pieces), byte_vector(all.begin(), all.end()));
  EXPECT_EQ(pieces_crc32c(pieces), crc32c(all));
  // Published digests of this sentence.
  EXPECT_EQ(pieces_md5_base64(pieces), "nhB9nTcrtoJr2B01QqQZ1g==");
  EXPECT_EQ(pieces_sha256_hex(pieces), "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
  EXPECT_EQ(pieces_sha256_hex({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace kb::storage
