#include "pipeline/backup/batch_info.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::pipeline::backup {
namespace {

namespace sf = storage::format;
using ::testing::HasSubstr;

protocol::fetched_batch make_batch(protocol::batch_options o, int records, std::int64_t ts = 1000) {
  protocol::record_batch_builder b(o);
  for (int i = 0; i < records; ++i) {
    const std::string v = "value-" + std::to_string(i);
    b.add(ts + i, std::nullopt, as_bytes(v));
  }
  auto bytes = b.build();
  EXPECT_TRUE(bytes);
  protocol::fetched_batch f;
  f.bytes = shared_bytes(std::move(*bytes));
  f.magic = 2;
  f.base_offset = o.base_offset;
  f.last_offset = o.base_offset + records - 1;
  return f;
}

// A control batch as a broker writes it: key {version 0, type}, value {version 0, epoch}.
protocol::fetched_batch make_marker(std::int64_t offset, std::int64_t pid, bool commit) {
  protocol::batch_options o;
  o.base_offset = offset;
  o.producer_id = pid;
  o.producer_epoch = 3;
  o.transactional = true;
  o.control = true;
  protocol::record_batch_builder b(o);
  const std::uint8_t key[] = {0, 0, 0, static_cast<std::uint8_t>(commit ? 1 : 0)};
  const std::uint8_t value[] = {0, 0, 0, 0, 0, 7};
  b.add(5000, byte_view(key), byte_view(value));
  auto bytes = b.build();
  EXPECT_TRUE(bytes);
  protocol::fetched_batch f;
  f.bytes = shared_bytes(std::move(*bytes));
  f.base_offset = offset;
  f.last_offset = offset;
  return f;
}

TEST(describe_batch, plain_batch_header_fields) {
  protocol::batch_options o;
  o.base_offset = 42;
  o.producer_id = 9;
  o.producer_epoch = 1;
  o.base_sequence = 17;
  auto b = make_batch(o, 3, 2000);
  auto e = describe_batch(b);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->first_offset, 42);
  EXPECT_EQ(e->last_offset, 44);
  EXPECT_EQ(e->first_timestamp, 2000);
  EXPECT_EQ(e->max_timestamp, 2002);
  EXPECT_EQ(e->record_count, 3);
  EXPECT_EQ(e->flags, 0);
  EXPECT_EQ(e->producer_id, 9);
  EXPECT_EQ(e->producer_epoch, 1);
  EXPECT_EQ(e->base_sequence, 17);
  EXPECT_EQ(e->size, b.bytes.size());
}

TEST(describe_batch, crc_mismatch_is_corrupt) {
  protocol::batch_options o;
  o.base_offset = 7;
  auto b = make_batch(o, 2);
  byte_vector bytes(b.bytes.view().begin(), b.bytes.view().end());
  bytes[bytes.size() / 2] ^= 0x01;  // inside the CRC-covered records (not back(): g++ 12 -O3 false positive)
  b.bytes = shared_bytes(std::move(bytes));
  auto e = describe_batch(b);
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().is(errc::corrupt));
  EXPECT_THAT(e.error().message, HasSubstr("offset 7"));
}

TEST(describe_batch, control_batches_say_commit_or_abort) {
  auto c = describe_batch(make_marker(10, 5, true));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->flags, sf::batch_flags::transactional | sf::batch_flags::control | sf::batch_flags::commit_marker);
  auto a = describe_batch(make_marker(11, 5, false));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->flags, sf::batch_flags::transactional | sf::batch_flags::control | sf::batch_flags::abort_marker);
}

TEST(describe_batch, log_append_time_flag) {
  protocol::batch_options o;
  o.ts_type = protocol::timestamp_type::log_append_time;
  auto e = describe_batch(make_batch(o, 1));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->flags, sf::batch_flags::log_append_time);
}

// A gzip-compressed v1 wrapper at offset 12 holding three messages (relative inner offsets 0..2,
// so absolute 10..12), timestamps 1000..1002: what a 2.x broker with message format 0.10 serves.
const byte_vector legacy_v1_gzip = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x61, 0xf3, 0x70, 0xf7, 0x58, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xea, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x4b, 0x1f, 0x8b, 0x08, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0x80, 0x03, 0x89, 0xb5, 0x07, 0xae, 0xbd, 0x64, 0x84, 0x72, 0x98,
    0x5f, 0x00, 0x09, 0xc6, 0x44, 0x10, 0x61, 0x08, 0x15, 0x02, 0x49, 0x49, 0x14, 0x5f, 0xd6, 0xb2, 0x85, 0xab, 0x79,
    0x09, 0x12, 0x4d, 0x02, 0x11, 0x46, 0x50, 0x21, 0x26, 0x20, 0x16, 0xaf, 0xdf, 0xeb, 0x13, 0x0a, 0x57, 0xf3, 0x0a,
    0x24, 0x9d, 0xfc, 0x1f, 0x08, 0x00, 0x0b, 0xb4, 0xad, 0x8a, 0x6b, 0x00, 0x00, 0x00};

TEST(describe_batch, compressed_legacy_wrapper_covers_all_its_inner_offsets) {
  // Found against Kafka 2.8 (issue #16): the wrapper's offset is its LAST inner message's, and
  // the entry was indexed as that one offset with one record.
  auto split = protocol::split_batches(shared_bytes(byte_vector(legacy_v1_gzip)));
  ASSERT_TRUE(split);
  ASSERT_EQ(split->batches.size(), 1u);
  auto e = describe_batch(split->batches[0]);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->first_offset, 10);
  EXPECT_EQ(e->last_offset, 12);
  EXPECT_EQ(e->record_count, 3);
  EXPECT_EQ(e->first_timestamp, 1000);
  EXPECT_EQ(e->max_timestamp, 1002);
  EXPECT_EQ(e->flags, sf::batch_flags::legacy);
}

sf::batch_entry txn_data(std::int64_t first, std::int64_t last, std::int64_t pid) {
  sf::batch_entry e;
  e.first_offset = first;
  e.last_offset = last;
  e.producer_id = pid;
  e.producer_epoch = 2;
  e.flags = sf::batch_flags::transactional;
  return e;
}
sf::batch_entry txn_marker(std::int64_t offset, std::int64_t pid, bool commit) {
  auto e = txn_data(offset, offset, pid);
  e.flags |= sf::batch_flags::control | (commit ? sf::batch_flags::commit_marker : sf::batch_flags::abort_marker);
  return e;
}

TEST(txn_tracker, interleaved_producers) {
  txn_tracker t;
  EXPECT_FALSE(t.observe(txn_data(0, 4, 100)));
  EXPECT_FALSE(t.observe(txn_data(5, 6, 200)));
  EXPECT_FALSE(t.observe(txn_data(7, 9, 100)));
  sf::batch_entry plain;
  plain.first_offset = 10;
  plain.last_offset = 10;
  EXPECT_FALSE(t.observe(plain));  // non-transactional data touches no span
  EXPECT_EQ(t.open_count(), 2u);
  auto c = t.observe(txn_marker(11, 100, true));
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (sf::txn_span{100, 2, 0, 11, sf::txn_outcome::committed}));
  auto a = t.observe(txn_marker(12, 200, false));
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (sf::txn_span{200, 2, 5, 12, sf::txn_outcome::aborted}));
  EXPECT_EQ(t.open_count(), 0u);
  // The next transaction of the same producer starts a new span.
  EXPECT_FALSE(t.observe(txn_data(13, 13, 100)));
  auto open = t.open_spans();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0], (sf::txn_span{100, 2, 13, 13, sf::txn_outcome::open}));
}

TEST(txn_tracker, restored_open_span_keeps_its_first_offset) {
  txn_tracker t;
  t.restore({{300, 1, 50, 60, sf::txn_outcome::open}, {400, 1, 10, 20, sf::txn_outcome::committed}});
  EXPECT_EQ(t.open_count(), 1u);
  EXPECT_FALSE(t.observe(txn_data(61, 65, 300)));
  auto c = t.observe(txn_marker(66, 300, false));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first_offset, 50);
  EXPECT_EQ(c->last_offset, 66);
  EXPECT_EQ(c->outcome, sf::txn_outcome::aborted);
}

TEST(txn_tracker, marker_without_seen_data) {
  txn_tracker t;
  auto c = t.observe(txn_marker(8, 7, true));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first_offset, 8);
  EXPECT_EQ(c->outcome, sf::txn_outcome::committed);
}

}  // namespace
}  // namespace kb::pipeline::backup
