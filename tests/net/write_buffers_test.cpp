#include "net/write_buffers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace kb::net {
namespace {

using splice = protocol::writer::splice;

std::string joined(const std::vector<boost::asio::const_buffer>& buffers) {
  std::string all;
  for (const auto& b : buffers) all.append(static_cast<const char*>(b.data()), b.size());
  return all;
}

bool points_into(const boost::asio::const_buffer& b, const byte_vector& v) {
  const auto* p = static_cast<const std::uint8_t*>(b.data());
  return !v.empty() && p >= v.data() && p + b.size() <= v.data() + v.size();
}

// A frame "HHHH|tt" with two batches spliced in before offsets 4 and 6.
struct request {
  byte_vector frame = byte_vector{'H', 'H', 'H', 'H', 't', 't'};
  byte_vector big = byte_vector(40, 'B');
  byte_vector small_batch = byte_vector(3, 's');
  std::vector<splice> splices;
};

TEST(write_buffers, without_joining_each_piece_is_its_own_buffer_in_frame_order) {
  request r;
  r.splices = {{4, r.big}, {6, r.small_batch}};
  byte_vector staging;
  const auto out = write_buffers(r.frame, r.splices, 0, staging);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(joined(out), "HHHH" + std::string(40, 'B') + "tt" + "sss");
  EXPECT_EQ(out[1].data(), r.big.data());  // borrowed, not copied
  EXPECT_TRUE(staging.empty());
}

TEST(write_buffers, small_neighbours_are_joined_and_large_pieces_stay_borrowed) {
  request r;
  r.splices = {{4, r.big}, {6, r.small_batch}};
  byte_vector staging;
  const auto out = write_buffers(r.frame, r.splices, 10, staging);
  // "HHHH" alone before the big batch; "tt" and "sss" joined after it.
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(joined(out), "HHHH" + std::string(40, 'B') + "ttsss");
  EXPECT_EQ(out[0].data(), r.frame.data());
  EXPECT_EQ(out[1].data(), r.big.data());
  EXPECT_TRUE(points_into(out[2], staging));
  EXPECT_EQ(staging.size(), 5u);
}

TEST(write_buffers, many_small_batches_become_one_buffer) {
  // The small-batch restore: a Produce request of 100 batches of 3 bytes, each after 2 header bytes.
  byte_vector frame(2 * 100 + 1, 'h');
  byte_vector batch{'a', 'b', 'c'};
  std::vector<splice> splices;
  std::string expect;
  for (std::size_t i = 0; i < 100; ++i) {
    splices.push_back({2 * (i + 1), batch});
    expect += "hhabc";
  }
  expect += "h";
  byte_vector staging;
  const auto out = write_buffers(frame, splices, 16 * 1024, staging);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(joined(out), expect);
}

TEST(write_buffers, empty_pieces_and_a_splice_at_the_end_are_handled) {
  byte_vector frame{'a', 'b'};
  byte_vector none;
  byte_vector tail{'z'};
  std::vector<splice> splices{{0, none}, {2, tail}};
  byte_vector staging;
  EXPECT_EQ(joined(write_buffers(frame, splices, 0, staging)), "abz");
  EXPECT_EQ(joined(write_buffers(frame, splices, 8, staging)), "abz");
  EXPECT_EQ(write_buffers(frame, splices, 8, staging).size(), 1u);
}

TEST(write_buffers, a_frame_without_splices_is_one_borrowed_buffer) {
  byte_vector frame{'x', 'y', 'z'};
  byte_vector staging;
  const auto out = write_buffers(frame, {}, 16 * 1024, staging);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data(), frame.data());
}

}  // namespace
}  // namespace kb::net
