// Record batches and legacy message sets built by Apache Kafka's MemoryRecordsBuilder
// (tests/protocol/golden/records/batches.json, from golden/gen/GenGolden.java): every codec reads
// back as the records Kafka wrote, and our v2 builder writes Kafka's uncompressed bytes exactly.
#include "tests/protocol/golden_common.hpp"

#include <gtest/gtest.h>

#include "protocol/records/record_batch.hpp"

namespace kb::protocol {
namespace {

using namespace golden_fixture;

std::string text(byte_view b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

void same_bytes(const json::value& want, const std::optional<byte_view>& got, std::string_view what) {
  if (want.is_null()) {
    EXPECT_FALSE(got.has_value()) << what;
  } else {
    ASSERT_TRUE(got.has_value()) << what;
    EXPECT_EQ(text(*got), str(want)) << what;
  }
}

TEST(golden, record_batches) {
  std::ifstream in(golden_dir + "/records/batches.json");
  std::stringstream s;
  s << in.rdbuf();
  const json::value doc = json::parse(s.str());
  const json::array& cases = doc.as_array();
  EXPECT_EQ(cases.size(), 18u);  // magic 0/1 x 4 codecs, magic 2 x 5 codecs x (plain, transactional)
  for (const auto& c_value : cases) {
    const json::object& c = c_value.as_object();
    SCOPED_TRACE(str(c.at("name")));
    const byte_vector bytes = from_hex(c.at("hex").as_string());
    auto split = split_batches(shared_bytes(bytes));
    ASSERT_TRUE(split) << split.error().message;
    EXPECT_FALSE(split->truncated);
    const json::array& want = c.at("records").as_array();
    std::size_t i = 0;
    for (const fetched_batch& b : split->batches) {
      EXPECT_EQ(b.magic, num(c.at("magic")));
      if (b.magic == 2) {
        auto h = record_batch_header::parse(b.bytes.view());
        ASSERT_TRUE(h) << h.error().message;
        EXPECT_TRUE(h->verify_crc());
        EXPECT_EQ(h->base_offset(), num(c.at("base_offset")));
        EXPECT_EQ(h->last_offset(), num(c.at("base_offset")) + 3);
        EXPECT_EQ(h->partition_leader_epoch(), num(c.at("partition_leader_epoch")));
        EXPECT_EQ(h->producer_id(), num(c.at("producer_id")));
        EXPECT_EQ(h->producer_epoch(), num(c.at("producer_epoch")));
        EXPECT_EQ(h->base_sequence(), num(c.at("base_sequence")));
        EXPECT_EQ(h->is_transactional(), c.at("transactional").as_bool());
        EXPECT_EQ(h->records_count(), 4);
        EXPECT_EQ(static_cast<int>(h->codec()),
                  std::string_view(c.at("codec").as_string()) == "none"     ? 0
                  : std::string_view(c.at("codec").as_string()) == "gzip"   ? 1
                  : std::string_view(c.at("codec").as_string()) == "snappy" ? 2
                  : std::string_view(c.at("codec").as_string()) == "lz4"    ? 3
                                                                            : 4);
      }
      auto records = read_records(b.bytes);
      ASSERT_TRUE(records) << records.error().message;
      for (const record& r : *records) {
        ASSERT_LT(i, want.size());
        const json::object& w = want[i++].as_object();
        SCOPED_TRACE(testing::Message() << "record at offset " << r.offset);
        EXPECT_EQ(r.offset, num(w.at("offset")));
        EXPECT_EQ(r.timestamp, num(w.at("timestamp")));
        same_bytes(w.at("key"), r.key, "key");
        same_bytes(w.at("value"), r.value, "value");
        const json::array& hs = w.at("headers").as_array();
        ASSERT_EQ(r.headers.size(), hs.size());
        for (std::size_t k = 0; k < hs.size(); ++k) {
          EXPECT_EQ(text(r.headers[k].key), str(hs[k].at("key")));
          same_bytes(hs[k].at("value"), r.headers[k].value, "header value");
        }
      }
    }
    EXPECT_EQ(i, want.size());
  }
}

/// Uncompressed v2 batches: our builder writes Kafka's bytes exactly (compressed ones differ
/// only by the compressor's output, which the reads above cover).
TEST(golden, record_batch_builder_matches_kafka) {
  std::ifstream in(golden_dir + "/records/batches.json");
  std::stringstream s;
  s << in.rdbuf();
  int compared = 0;
  const json::value doc = json::parse(s.str());
  for (const auto& c_value : doc.as_array()) {
    const json::object& c = c_value.as_object();
    if (num(c.at("magic")) != 2 || c.at("codec").as_string() != "none") continue;
    SCOPED_TRACE(str(c.at("name")));
    batch_options o;
    o.base_offset = num(c.at("base_offset"));
    o.partition_leader_epoch = static_cast<std::int32_t>(num(c.at("partition_leader_epoch")));
    o.producer_id = num(c.at("producer_id"));
    o.producer_epoch = static_cast<std::int16_t>(num(c.at("producer_epoch")));
    o.base_sequence = static_cast<std::int32_t>(num(c.at("base_sequence")));
    o.transactional = c.at("transactional").as_bool();
    record_batch_builder builder(o);
    std::vector<std::string> keep;  // owns the bytes the views below point into
    keep.reserve(64);
    auto view = [&](const json::value& v) -> std::optional<byte_view> {
      if (v.is_null()) return std::nullopt;
      const std::string& t = keep.emplace_back(str(v));
      return byte_view(reinterpret_cast<const std::uint8_t*>(t.data()), t.size());
    };
    for (const auto& w_value : c.at("records").as_array()) {
      const json::object& w = w_value.as_object();
      std::vector<record_header> headers;
      for (const auto& h : w.at("headers").as_array()) headers.push_back({*view(h.at("key")), view(h.at("value"))});
      builder.add(num(w.at("timestamp")), view(w.at("key")), view(w.at("value")), headers);
    }
    auto built = builder.build();
    ASSERT_TRUE(built) << built.error().message;
    const std::string want(c.at("hex").as_string());
    const std::string got = to_hex(*built);
    EXPECT_EQ(want, got) << first_difference(want, got);
    ++compared;
  }
  EXPECT_EQ(compared, 2);
}

}  // namespace
}  // namespace kb::protocol
