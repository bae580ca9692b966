#include "base/uuid.hpp"

#include <set>

#include <gtest/gtest.h>

namespace kb {
namespace {

TEST(uuid, text_forms_of_known_bytes) {
  const uuid_bytes id{0x1b, 0x4e, 0x28, 0xba, 0x2f, 0xa1, 0x11, 0xd2, 0x88, 0x3f, 0x00, 0x16, 0xd3, 0xcc, 0xa4, 0x27};
  EXPECT_EQ(uuid_text(id), "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
  EXPECT_EQ(uuid_hex(id), "1b4e28ba2fa111d2883f0016d3cca427");
}

TEST(uuid, nil_id_is_empty_text) {
  EXPECT_EQ(uuid_text(uuid_bytes{}), "");
  EXPECT_EQ(uuid_hex(uuid_bytes{}), "");
  uuid_bytes last{};
  last[15] = 0xab;
  EXPECT_EQ(uuid_hex(last), "000000000000000000000000000000ab");
}

TEST(uuid, random_ids_are_version_4_and_distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto text = random_uuid_text();
    ASSERT_EQ(text.size(), 36u) << text;
    EXPECT_EQ(text[14], '4') << text;  // version nibble
    EXPECT_NE(std::string("89ab").find(text[19]), std::string::npos) << text;  // RFC 4122 variant
    seen.insert(text);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace kb
