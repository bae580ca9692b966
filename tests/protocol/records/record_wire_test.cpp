// record_wire: the zig-zag varints of Kafka's record fields (sizes, round trips at every width
// boundary, overlong and out-of-range input refused), nullable bytes and big-endian fields.
#include "protocol/records/record_wire.hpp"

#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace kb::protocol::record_wire {
namespace {

TEST(record_wire, varlong_round_trips_at_every_width_boundary) {
  const std::int64_t values[] = {0, -1, 1, -64, 63, 64, -65, 8191, 8192, -8193, 1'000'000,
                                 std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int32_t>::min(),
                                 std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()};
  for (const auto v : values) {
    byte_vector out;
    put_varlong(out, v);
    EXPECT_EQ(out.size(), varlong_size(v)) << v;
    varint_reader in(out);
    std::int64_t back = 0;
    ASSERT_TRUE(in.read_varlong(back)) << v;
    EXPECT_EQ(back, v);
    EXPECT_EQ(in.remaining(), 0u);
  }
  EXPECT_EQ(varlong_size(0), 1u);
  EXPECT_EQ(varlong_size(63), 1u);   // zig-zag 126
  EXPECT_EQ(varlong_size(64), 2u);   // zig-zag 128
  EXPECT_EQ(varlong_size(-64), 1u);  // zig-zag 127
  EXPECT_EQ(varlong_size(std::numeric_limits<std::int64_t>::min()), 10u);
}

TEST(record_wire, zig_zag_bytes_match_the_kafka_encoding) {
  byte_vector out;
  put_varlong(out, -1);   // 1
  put_varlong(out, 1);    // 2
  put_varlong(out, 150);  // 300 = 0xac 0x02
  EXPECT_EQ(out, (byte_vector{0x01, 0x02, 0xac, 0x02}));
}

TEST(record_wire, varint_refuses_overlong_and_out_of_range_input) {
  const byte_vector six_bytes = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  std::int32_t v32 = 0;
  EXPECT_FALSE(varint_reader(six_bytes).read_varint(v32));
  byte_vector big;
  put_varlong(big, std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1);
  EXPECT_FALSE(varint_reader(big).read_varint(v32));
  const byte_vector cut = {0x80};
  std::int64_t v64 = 0;
  EXPECT_FALSE(varint_reader(cut).read_varlong(v64));
  const byte_vector eleven(11, 0x80);
  EXPECT_FALSE(varint_reader(eleven).read_varlong(v64));
}

TEST(record_wire, nullable_bytes_round_trip) {
  const std::string hello = "hello";
  byte_vector out;
  put_nullable(out, std::nullopt);
  put_nullable(out, std::optional<byte_view>(as_bytes(hello)));
  put_nullable(out, std::optional<byte_view>(byte_view{}));
  EXPECT_EQ(out.size(), nullable_size(std::nullopt) + nullable_size(as_bytes(hello)) + nullable_size(byte_view{}));
  varint_reader in(out);
  std::optional<byte_view> a, b, c;
  ASSERT_TRUE(in.read_nullable(a) && in.read_nullable(b) && in.read_nullable(c));
  EXPECT_FALSE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(as_text(*b), "hello");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->empty());
  std::optional<byte_view> d;
  EXPECT_FALSE(in.read_nullable(d));  // nothing left
  const byte_vector past = {0x0a, 'x'};  // length 5, one byte present
  EXPECT_FALSE(varint_reader(past).read_nullable(d));
}

TEST(record_wire, big_endian_fields) {
  byte_vector out;
  put_be<std::int32_t>(out, -2);
  put_be<std::int16_t>(out, 0x0102);
  EXPECT_EQ(out, (byte_vector{0xff, 0xff, 0xff, 0xfe, 0x01, 0x02}));
  EXPECT_EQ(get_be<std::int32_t>(out.data()), -2);
  EXPECT_EQ(get_be<std::int16_t>(out.data() + 4), 0x0102);
  set_be<std::int16_t>(out.data() + 4, -1);
  EXPECT_EQ(get_be<std::int16_t>(out.data() + 4), -1);
}

}  // namespace
}  // namespace kb::protocol::record_wire
