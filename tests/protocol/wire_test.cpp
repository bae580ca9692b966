#include "protocol/wire.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace kb::protocol {
namespace {

shared_bytes bytes_of(std::initializer_list<std::uint8_t> b) { return shared_bytes(byte_vector(b)); }

// Varint encodings are the protobuf ones Kafka adopted (KIP-482 for unsigned varints; record
// fields use zigzag): 300 -> AC 02 is the protobuf documentation's example; zigzag maps
// 0,-1,1,-2 to 0,1,2,3 and INT32_MIN to 0xffffffff.
TEST(wire_writer, unsigned_varint_matches_protobuf_encoding) {
  writer w;
  w.write_uvarint(0);
  w.write_uvarint(1);
  w.write_uvarint(127);
  w.write_uvarint(128);
  w.write_uvarint(300);
  w.write_uvarint(0xffffffffu);
  const byte_vector expected{0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_EQ(byte_vector(w.view().begin(), w.view().end()), expected);
}

TEST(wire_writer, zigzag_varint_and_varlong) {
  writer w;
  w.write_varint(0);
  w.write_varint(-1);
  w.write_varint(1);
  w.write_varint(-2);
  w.write_varint(std::numeric_limits<std::int32_t>::min());
  w.write_varlong(-64);  // zigzag 127 -> one byte
  w.write_varlong(64);   // zigzag 128 -> two bytes
  w.write_varlong(std::numeric_limits<std::int64_t>::min());
  const byte_vector expected{0x00, 0x01, 0x02, 0x03, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x80, 0x01,
                             0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  EXPECT_EQ(byte_vector(w.view().begin(), w.view().end()), expected);

  reader r{shared_bytes(w.take())};
  EXPECT_EQ(r.read_varint(), 0);
  EXPECT_EQ(r.read_varint(), -1);
  EXPECT_EQ(r.read_varint(), 1);
  EXPECT_EQ(r.read_varint(), -2);
  EXPECT_EQ(r.read_varint(), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(r.read_varlong(), -64);
  EXPECT_EQ(r.read_varlong(), 64);
  EXPECT_EQ(r.read_varlong(), std::numeric_limits<std::int64_t>::min());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(wire_writer, fixed_width_integers_are_big_endian) {
  writer w;
  w.write_int8(-2);
  w.write_int16(0x0102);
  w.write_int32(-2);
  w.write_int64(0x0102030405060708);
  w.write_float64(1.0);  // IEEE 754: 3FF0000000000000
  const byte_vector expected{0xfe, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04,
                             0x05, 0x06, 0x07, 0x08, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(byte_vector(w.view().begin(), w.view().end()), expected);
}

TEST(wire_writer, strings_bytes_and_nulls) {
  writer w;
  w.write_string("ab");                       // 00 02 'a' 'b'
  w.write_nullable_string(std::nullopt);      // ff ff
  w.write_compact_string("ab");               // 03 'a' 'b'
  w.write_compact_nullable_string(std::nullopt);  // 00
  w.write_nullable_bytes(std::nullopt);       // ff ff ff ff
  w.write_compact_bytes(as_bytes("x"));       // 02 'x'
  w.write_array_length(2, false);             // 00 00 00 02
  w.write_array_length(2, true);              // 03
  w.write_null_array(true);                   // 00
  const byte_vector expected{0x00, 0x02, 'a', 'b', 0xff, 0xff, 0x03, 'a', 'b', 0x00, 0xff, 0xff,
                             0xff, 0xff, 0x02, 'x', 0x00, 0x00, 0x00, 0x02, 0x03, 0x00};
  EXPECT_EQ(byte_vector(w.view().begin(), w.view().end()), expected);
}

// An int16 length cannot describe more than 32767 bytes: the old cast sent a wrong length.
TEST(wire_writer, a_string_over_32767_bytes_is_not_written_truncated) {
  const std::string big(40000, 'x');
  for (const bool compact : {false, true}) {
    writer w;
    if (compact) {
      w.write_compact_string(big);
    } else {
      w.write_string(big);
    }
    EXPECT_EQ(w.size(), 0u) << "compact " << compact;
  }
}

TEST(wire_writer, an_oversized_string_fails_the_writer_with_a_reason) {
  writer w;
  w.write_string(std::string(writer::max_string_bytes, 'y'));  // the longest that fits
  EXPECT_EQ(w.failure(), std::nullopt);
  EXPECT_TRUE(w.status("encoding"));
  EXPECT_EQ(w.size(), 2u + writer::max_string_bytes);
  w.write_nullable_string(std::string(32768, 'z'));
  ASSERT_TRUE(w.failure().has_value());
  EXPECT_NE(w.failure()->find("STRING of 32768 bytes exceeds the 32767 bytes"), std::string::npos) << *w.failure();
  auto st = w.status("encoding a Metadata request");
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().is(errc::invalid_argument));
  EXPECT_EQ(st.error().message.rfind("encoding a Metadata request: ", 0), 0u) << st.error().message;
  w.write_string("ok");  // the first failure stays the one reported
  EXPECT_NE(w.failure()->find("32768"), std::string::npos);
}

TEST(wire_writer, reserve_and_back_patch) {
  writer w;
  const std::size_t at = w.reserve_int32();
  w.write_int16(7);
  w.patch_int32(at, static_cast<std::int32_t>(w.size() - 4));
  const byte_vector expected{0, 0, 0, 2, 0, 7};
  EXPECT_EQ(byte_vector(w.view().begin(), w.view().end()), expected);
}

TEST(wire_reader, slices_share_the_buffer) {
  const shared_bytes buf = bytes_of({0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c'});
  reader r(buf);
  const shared_bytes slice = r.read_bytes();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(slice.data(), buf.data() + 4);
  EXPECT_EQ(as_text(slice.view()), "abc");
}

TEST(wire_reader, truncated_input_is_need_more) {
  reader r(bytes_of({0x00, 0x05, 'a'}));  // string of 5, one byte present
  (void)r.read_string();
  EXPECT_EQ(r.status(), wire_errc::need_more);

  reader ints(bytes_of({0x01, 0x02, 0x03}));
  EXPECT_EQ(ints.read_int32(), 0);
  EXPECT_EQ(ints.status(), wire_errc::need_more);
  EXPECT_EQ(ints.read_int8(), 0) << "failure is sticky";

  reader varint(bytes_of({0x80, 0x80}));
  (void)varint.read_uvarint();
  EXPECT_EQ(varint.status(), wire_errc::need_more);

  reader array(bytes_of({0x00, 0x00, 0x01, 0x00, 0x01}));  // 256 elements, 1 byte left
  (void)array.read_array_length(false);
  EXPECT_EQ(array.status(), wire_errc::need_more);
}

TEST(wire_reader, impossible_values_are_malformed) {
  reader neg(bytes_of({0xff, 0xfe}));  // string length -2
  (void)neg.read_nullable_string();
  EXPECT_EQ(neg.status(), wire_errc::malformed);

  reader null_string(bytes_of({0xff, 0xff}));  // null where a STRING is required
  (void)null_string.read_string();
  EXPECT_EQ(null_string.status(), wire_errc::malformed);

  reader overlong(bytes_of({0xff, 0xff, 0xff, 0xff, 0x7f}));  // > 32 bits
  (void)overlong.read_uvarint();
  EXPECT_EQ(overlong.status(), wire_errc::malformed);

  reader bad_array(bytes_of({0xff, 0xff, 0xff, 0xfe}));  // length -2
  (void)bad_array.read_array_length(false);
  EXPECT_EQ(bad_array.status(), wire_errc::malformed);

  const error e = bad_array.to_error("TestMessage");
  EXPECT_EQ(e.code, make_error_code(wire_errc::malformed));
  EXPECT_NE(e.message.find("TestMessage"), std::string::npos);
}

TEST(wire_reader, unknown_tagged_fields_are_skipped) {
  // 2 fields: tag 5 (3 bytes), tag 9 (1 byte); then an int8 after the section.
  reader r(bytes_of({0x02, 0x05, 0x03, 1, 2, 3, 0x09, 0x01, 0x2a, 0x07}));
  std::uint32_t seen = 0;
  r.read_tagged_fields([&](std::uint32_t tag, reader& value) {
    if (tag == 9) {
      seen = static_cast<std::uint32_t>(value.read_int8());
    }
  });
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(seen, 42u);
  EXPECT_EQ(r.read_int8(), 7);
}

TEST(wire_reader, tagged_field_overrunning_its_size_is_malformed) {
  reader r(bytes_of({0x01, 0x00, 0x01, 0x05}));  // tag 0 of size 1, decoder wants 4 bytes
  r.read_tagged_fields([](std::uint32_t, reader& value) { (void)value.read_int32(); });
  EXPECT_EQ(r.status(), wire_errc::malformed);
}

TEST(wire_reader, uuid_round_trip) {
  uuid id;
  for (std::size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<std::uint8_t>(i + 1);
  writer w;
  w.write_uuid(id);
  reader r{shared_bytes(w.take())};
  EXPECT_EQ(r.read_uuid(), id);
  EXPECT_FALSE(id.is_zero());
  EXPECT_TRUE(uuid{}.is_zero());
}

}  // namespace
}  // namespace kb::protocol
