// Format v2 against external truth: the committed segment fixtures/v2/orders-0.kbs (written once
// by make_format_v2_fixture.cpp from two batches librdkafka wrote) must be read by today's
// readers and decode to the records written below by hand. A failure here means a build can no
// longer read backups made earlier: fix the reader, never the fixture.
#include <string>

#include <gtest/gtest.h>

#include "pipeline/frame_filters.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/filesystem_store.hpp"
#include "storage/format/frame_filter.hpp"
#include "storage/format/segment.hpp"

namespace kb::pipeline {
namespace {

namespace sf = storage::format;

std::string text(const std::optional<byte_view>& v) {
  return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string("<null>");
}

TEST(format_v2_fixture, the_batch_columns_segment_reads_back_librdkafkas_records) {
  install_frame_filters();
  storage::filesystem_store store(KB_FORMAT_FIXTURES_V2);
  auto idx = sf::read_segment_index(store, "orders-0.kbs");
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_EQ(idx->header.topic, "orders");
  EXPECT_EQ(idx->header.partition, 0);
  EXPECT_EQ(idx->header.codec, sf::frame_codec::zstd);
  EXPECT_EQ(idx->header.filter, 1);
  ASSERT_EQ(idx->frames.size(), 1u);
  ASSERT_EQ(idx->batches.size(), 2u);
  EXPECT_EQ(idx->batches[0].first_offset, 0);
  EXPECT_EQ(idx->batches[0].last_offset, 3);
  EXPECT_EQ(idx->batches[1].first_offset, 4);
  EXPECT_EQ(idx->batches[1].last_offset, 303);

  auto raw = sf::read_frame(store, "orders-0.kbs", *idx, 0);
  ASSERT_TRUE(raw) << raw.error().message;
  auto split = protocol::split_batches(shared_bytes(std::move(*raw)));
  ASSERT_TRUE(split);
  ASSERT_EQ(split->batches.size(), 2u);
  for (const auto& b : split->batches) EXPECT_TRUE(protocol::check_batch_crc(b.bytes.view()));

  auto small = protocol::read_records(split->batches[0].bytes);
  ASSERT_TRUE(small);
  ASSERT_EQ(small->size(), 4u);
  const std::string click = R"({"event":"click","page":"/home","agent":"Mozilla/5.0"})";
  EXPECT_EQ(text((*small)[0].key), "k1");
  EXPECT_EQ(text((*small)[0].value), click + click + click);
  EXPECT_EQ(text((*small)[2].key), "k3");
  EXPECT_EQ(text((*small)[2].value), "<null>");
  EXPECT_EQ(text((*small)[3].value), click + click + click + click);
  ASSERT_EQ((*small)[1].headers.size(), 2u);
  EXPECT_EQ(text((*small)[1].headers[0].key), "trace");
  EXPECT_EQ(text((*small)[1].headers[0].value), "abc");
  EXPECT_EQ(text((*small)[1].headers[1].key), "empty");
  EXPECT_EQ(text((*small)[1].headers[1].value), "");

  auto many = protocol::read_records(split->batches[1].bytes);
  ASSERT_TRUE(many);
  ASSERT_EQ(many->size(), 300u);
  EXPECT_EQ((*many)[0].offset, 4);
  EXPECT_EQ(text((*many)[299].key), "key-299");
  EXPECT_EQ(text((*many)[299].value).rfind(R"({"id": 299, "user": "user-44", "event": "view", "ts": 1700000000299)", 0), 0u);
  EXPECT_EQ((*many)[299].offset, 303);

  auto whole = store.get("orders-0.kbs");
  ASSERT_TRUE(whole);
  auto parsed = sf::parse_segment(*whole);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->header.filter, 1);
}

}  // namespace
}  // namespace kb::pipeline
