// legacy_message: one v0/v1 message entry parsed field by field (key, value, timestamp, the
// bytes its CRC-32 covers), and every malformed length, magic and trailing byte refused.
#include "protocol/records/legacy_message.hpp"

#include <string>

#include <gtest/gtest.h>

namespace kb::protocol::record_wire {
namespace {

// The Kafka protocol guide's MessageSet layout; CRCs computed with Python's zlib.crc32.
// v0, offset 5, key "k", value "v".
const byte_vector legacy_v0 = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // offset 5
                               0x00, 0x00, 0x00, 0x10,                          // size 16
                               0x1f, 0xec, 0xd7, 0x0a,                          // crc
                               0x00, 0x00,                                      // magic 0, attributes 0
                               0x00, 0x00, 0x00, 0x01, 0x6b,                    // key "k"
                               0x00, 0x00, 0x00, 0x01, 0x76};                   // value "v"
// v1, offset 7, timestamp 1700000000000, null key, value "hi".
const byte_vector legacy_v1 = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x18,
                               0xdb, 0xa4, 0xe6, 0xe2, 0x01, 0x00,                // crc, magic 1, attr 0
                               0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,    // timestamp
                               0xff, 0xff, 0xff, 0xff,                            // key null
                               0x00, 0x00, 0x00, 0x02, 0x68, 0x69};               // value "hi"

std::string text(const std::optional<byte_view>& b) { return b ? std::string(as_text(*b)) : std::string("<null>"); }

TEST(legacy_message, v0_fields) {
  auto m = parse_legacy(legacy_v0);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->offset, 5);
  EXPECT_EQ(m->magic, 0);
  EXPECT_EQ(m->attributes, 0);
  EXPECT_EQ(m->timestamp, -1);
  EXPECT_EQ(text(m->key), "k");
  EXPECT_EQ(text(m->value), "v");
  EXPECT_EQ(m->entry_size, legacy_v0.size());
  EXPECT_EQ(m->crc, 0x1fecd70au);
  EXPECT_EQ(m->crc_covered.size(), legacy_v0.size() - 16);  // magic..end
  EXPECT_TRUE(legacy_crc_ok(*m));
}

TEST(legacy_message, v1_fields_with_a_null_key) {
  auto m = parse_legacy(legacy_v1);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->offset, 7);
  EXPECT_EQ(m->magic, 1);
  EXPECT_EQ(m->timestamp, 1'700'000'000'000);
  EXPECT_EQ(text(m->key), "<null>");
  EXPECT_EQ(text(m->value), "hi");
  EXPECT_TRUE(legacy_crc_ok(*m));
}

TEST(legacy_message, parses_only_the_first_entry) {
  byte_vector two = legacy_v0;
  two.insert(two.end(), legacy_v1.begin(), legacy_v1.end());
  auto m = parse_legacy(two);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->offset, 5);
  EXPECT_EQ(m->entry_size, legacy_v0.size());
}

TEST(legacy_message, changed_byte_fails_the_crc) {
  byte_vector bad = legacy_v1;
  bad.back() ^= 1;
  auto m = parse_legacy(bad);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_FALSE(legacy_crc_ok(*m));
}

void expect_corrupt(const byte_vector& bytes, const std::string& words) {
  auto m = parse_legacy(bytes);
  ASSERT_FALSE(m) << words;
  EXPECT_TRUE(m.error().is(errc::corrupt));
  EXPECT_NE(m.error().message.find(words), std::string::npos) << m.error().message;
}

TEST(legacy_message, malformed_entries_are_corrupt) {
  expect_corrupt(byte_vector(legacy_v0.begin(), legacy_v0.begin() + 10), "truncated");
  byte_vector too_long = legacy_v0;
  too_long[11] = 0x11;  // size 17, one past the data
  expect_corrupt(too_long, "size exceeds the data");
  byte_vector magic = legacy_v0;
  magic[16] = 2;
  expect_corrupt(magic, "legacy message has magic 2");
  byte_vector key = legacy_v0;
  key[21] = 0x09;  // key length 9 runs past the message
  expect_corrupt(key, "key or value length exceeds the message");
  byte_vector negative = legacy_v0;
  for (std::size_t i = 18; i < 22; ++i) negative[i] = 0xfe;  // key length -2
  expect_corrupt(negative, "key or value length exceeds the message");
  byte_vector trailing = legacy_v0;
  trailing[11] = 0x11;
  trailing.push_back(0);
  expect_corrupt(trailing, "trailing bytes");
  byte_vector short_v1 = legacy_v1;
  short_v1[11] = 0x0a;  // size 10: shorter than v1's fixed fields
  short_v1.resize(12 + 10);
  expect_corrupt(short_v1, "shorter than its fixed fields");
}

}  // namespace
}  // namespace kb::protocol::record_wire
