// Batch columns: batches written by Apache Kafka's serializers and by librdkafka split into
// columns and rebuild byte for byte; what cannot be rebuilt exactly is carried verbatim.
#include "protocol/records/batch_columns.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "protocol/records/record_batch.hpp"

namespace kb::protocol {
namespace {

byte_vector read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return byte_vector(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

byte_vector from_hex(std::string_view hex) {
  byte_vector out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

struct golden_batch {
  std::string name;
  int magic = 0;
  std::string codec;
  byte_vector bytes;
};

std::vector<golden_batch> kafka_goldens() {
  std::ifstream in(std::string(KB_GOLDEN_DIR) + "/records/batches.json");
  std::stringstream s;
  s << in.rdbuf();
  std::vector<golden_batch> out;
  const boost::json::value doc = boost::json::parse(s.str());
  for (const auto& v : doc.as_array()) {
    const auto& o = v.as_object();
    out.push_back({std::string(o.at("name").as_string()), static_cast<int>(o.at("magic").to_number<int>()),
                   std::string(o.at("codec").as_string()), from_hex(o.at("hex").as_string())});
  }
  return out;
}

byte_vector round_trip(byte_view raw, batch_columns_stats* stats = nullptr) {
  const byte_vector columns = split_batch_columns(raw, stats);
  EXPECT_LE(columns.size(), max_batch_columns_size(raw.size()));
  auto back = join_batch_columns(columns, raw.size());
  EXPECT_TRUE(back) << (back ? "" : back.error().message);
  return back ? *back : byte_vector{};
}

TEST(batch_columns, every_kafka_golden_batch_rebuilds_exactly_and_uncompressed_v2_ones_are_split) {
  for (const auto& g : kafka_goldens()) {
    batch_columns_stats st;
    EXPECT_EQ(round_trip(g.bytes, &st), g.bytes) << g.name;
    const bool splittable = g.magic == 2 && g.codec == "none";
    EXPECT_EQ(st.batches, splittable ? 1u : 0u) << g.name;
    EXPECT_EQ(st.verbatim > 0, !splittable) << g.name;
  }
}

TEST(batch_columns, all_goldens_back_to_back_rebuild_as_one_frame) {
  byte_vector frame;
  for (const auto& g : kafka_goldens()) frame.insert(frame.end(), g.bytes.begin(), g.bytes.end());
  batch_columns_stats st;
  EXPECT_EQ(round_trip(frame, &st), frame);
  EXPECT_EQ(st.batches, 2u);  // magic2-none and magic2-none-transactional
}

TEST(batch_columns, librdkafka_batches_with_headers_nulls_and_300_records_rebuild_exactly) {
  const std::string dir = std::string(KB_RECORDS_TESTDATA) + "/librdkafka/";
  byte_vector frame;
  for (const char* name : {"none_small.bin", "none_300.bin", "gzip_300.bin", "lz4_small.bin"}) {
    const byte_vector b = read_file(dir + name);
    batch_columns_stats st;
    EXPECT_EQ(round_trip(b, &st), b) << name;
    EXPECT_EQ(st.batches, std::string(name).starts_with("none") ? 1u : 0u) << name;
    frame.insert(frame.end(), b.begin(), b.end());
  }
  EXPECT_EQ(round_trip(frame), frame);
}

TEST(batch_columns, the_split_form_groups_values_apart_from_the_framing) {
  const byte_vector b = read_file(std::string(KB_RECORDS_TESTDATA) + "/librdkafka/none_300.bin");
  const byte_vector columns = split_batch_columns(b);
  // The 300 values are JSON objects: in the column form they sit back to back, so the text of
  // record 0's value runs straight into record 1's.
  auto recs = read_records(shared_bytes(b));
  ASSERT_TRUE(recs);
  ASSERT_GE(recs->size(), 2u);
  byte_vector two((*recs)[0].value->begin(), (*recs)[0].value->end());
  two.insert(two.end(), (*recs)[1].value->begin(), (*recs)[1].value->end());
  EXPECT_NE(std::search(columns.begin(), columns.end(), two.begin(), two.end()), columns.end());
  EXPECT_EQ(std::search(b.begin(), b.end(), two.begin(), two.end()), b.end());
}

TEST(batch_columns, a_batch_with_a_wrong_crc_is_carried_verbatim_and_keeps_its_wrong_crc) {
  byte_vector b = read_file(std::string(KB_RECORDS_TESTDATA) + "/librdkafka/none_300.bin");
  b[batch_crc_offset] ^= 0xFF;
  batch_columns_stats st;
  EXPECT_EQ(round_trip(b, &st), b);
  EXPECT_EQ(st.batches, 0u);
  EXPECT_EQ(st.verbatim, 1u);
}

TEST(batch_columns, a_record_length_not_in_shortest_form_is_carried_verbatim) {
  // Kafka's golden v2 batch with its first record's length varint padded to two bytes
  // (0x80|low, 0x00): still a valid varint, but one the rebuild would write shorter.
  byte_vector b;
  for (const auto& g : kafka_goldens())
    if (g.name == "magic2-none") b = g.bytes;
  ASSERT_FALSE(b.empty());
  const std::size_t at = batch_header_size;
  ASSERT_LT(b[at], 0x80);  // a one-byte length
  b[at] |= 0x80;
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(at) + 1, 0x00);
  const auto length = static_cast<std::int32_t>((b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11]) + 1;
  for (int i = 0; i < 4; ++i) b[8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
  batch_columns_stats st;
  EXPECT_EQ(round_trip(b, &st), b);
  EXPECT_EQ(st.batches, 0u);
}

TEST(batch_columns, bytes_that_are_not_whole_batches_rebuild_exactly) {
  const byte_vector b = read_file(std::string(KB_RECORDS_TESTDATA) + "/librdkafka/none_300.bin");
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{11}, std::size_t{60}, b.size() - 1}) {
    const byte_vector part(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_EQ(round_trip(part), part) << cut;
  }
  byte_vector two = b;
  two.insert(two.end(), b.begin(), b.begin() + 40);  // a whole batch, then a cut one
  batch_columns_stats st;
  EXPECT_EQ(round_trip(two, &st), two);
  EXPECT_EQ(st.batches, 1u);
  EXPECT_EQ(st.verbatim, 1u);
}

TEST(batch_columns, join_refuses_a_wrong_size_a_cut_stream_and_an_unknown_form) {
  const byte_vector b = read_file(std::string(KB_RECORDS_TESTDATA) + "/librdkafka/none_300.bin");
  const byte_vector columns = split_batch_columns(b);
  EXPECT_FALSE(join_batch_columns(columns, b.size() - 1));
  EXPECT_FALSE(join_batch_columns(columns, b.size() + 1));
  EXPECT_FALSE(join_batch_columns(byte_view(columns).first(columns.size() - 1), b.size()));
  byte_vector other = columns;
  other.back() = 2;  // the form byte ends the column form
  auto r = join_batch_columns(other, b.size());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::corrupt);
  EXPECT_NE(r.error().message.find("unknown form"), std::string::npos);
  EXPECT_FALSE(join_batch_columns({}, 0));
}

TEST(batch_columns, an_empty_frame_is_an_empty_column_form) {
  auto back = join_batch_columns(split_batch_columns({}), 0);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->empty());
}

}  // namespace
}  // namespace kb::protocol
