#include "base/bytes.hpp"

#include <gtest/gtest.h>

namespace kb {
namespace {

TEST(shared_bytes, slices_share_storage_and_outlive_parent) {
  shared_bytes slice;
  {
    shared_bytes whole(byte_vector{1, 2, 3, 4, 5});
    slice = whole.slice(1, 3);
    EXPECT_EQ(slice.data(), whole.data() + 1);
  }
  ASSERT_EQ(slice.size(), 3u);
  EXPECT_EQ(slice.view()[0], 2);
  EXPECT_EQ(slice.view()[2], 4);
  EXPECT_EQ(slice.slice(1, 1).view()[0], 3);
}

TEST(bytes, text_round_trip) {
  EXPECT_EQ(as_text(as_bytes("kafka")), "kafka");
}

}  // namespace
}  // namespace kb
