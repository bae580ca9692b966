#include "protocol/records/record_batch.hpp"

#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/crc32c.hpp"

namespace kb::protocol {
namespace {

std::string text(const std::optional<byte_view>& b) { return b ? std::string(as_text(*b)) : std::string("<null>"); }

// A v2 batch written by hand from the Kafka protocol guide ("Message Format", RecordBatch and
// Record). The CRC was computed with an independent bitwise CRC-32C over bytes 21..81.
const byte_vector golden_v2 = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // baseOffset 0
    0x00, 0x00, 0x00, 0x46,                          // batchLength 70 (82 - 12)
    0x00, 0x00, 0x00, 0x00,                          // partitionLeaderEpoch 0
    0x02,                                            // magic 2
    0xdf, 0xf9, 0xc0, 0x25,                          // crc (CRC-32C of attributes..end)
    0x00, 0x00,                                      // attributes: no codec, CreateTime
    0x00, 0x00, 0x00, 0x01,                          // lastOffsetDelta 1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // baseTimestamp 1000
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xed,  // maxTimestamp 1005
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producerId -1
    0xff, 0xff,                                      // producerEpoch -1
    0xff, 0xff, 0xff, 0xff,                          // baseSequence -1
    0x00, 0x00, 0x00, 0x02,                          // recordsCount 2
    // record 0
    0x10,        // length varint 8 (zig-zag 16)
    0x00,        // attributes
    0x00,        // timestampDelta 0
    0x00,        // offsetDelta 0
    0x02, 'k',   // key length 1, "k"
    0x02, 'v',   // value length 1, "v"
    0x00,        // headers count 0
    // record 1
    0x16,             // length varint 11
    0x00,             // attributes
    0x0a,             // timestampDelta 5
    0x02,             // offsetDelta 1
    0x01,             // key length -1 (null)
    0x04, 'h', 'i',   // value "hi"
    0x02,             // 1 header
    0x02, 'h',        // header key "h"
    0x01,             // header value null
};

TEST(record_batch, golden_header_fields) {
  auto h = record_batch_header::parse(golden_v2);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->base_offset(), 0);
  EXPECT_EQ(h->batch_length(), 70);
  EXPECT_EQ(h->partition_leader_epoch(), 0);
  EXPECT_EQ(h->magic(), 2);
  EXPECT_EQ(h->crc(), 0xdff9c025u);
  EXPECT_EQ(h->codec(), compression_codec::none);
  EXPECT_EQ(h->ts_type(), timestamp_type::create_time);
  EXPECT_FALSE(h->is_transactional());
  EXPECT_FALSE(h->is_control());
  EXPECT_FALSE(h->has_delete_horizon());
  EXPECT_EQ(h->last_offset_delta(), 1);
  EXPECT_EQ(h->base_timestamp(), 1000);
  EXPECT_EQ(h->max_timestamp(), 1005);
  EXPECT_EQ(h->producer_id(), -1);
  EXPECT_EQ(h->producer_epoch(), -1);
  EXPECT_EQ(h->base_sequence(), -1);
  EXPECT_EQ(h->records_count(), 2);
  EXPECT_EQ(h->total_size(), golden_v2.size());
  EXPECT_EQ(h->next_offset(), 2);
  EXPECT_TRUE(h->verify_crc());
  EXPECT_TRUE(check_batch_crc(golden_v2));
}

TEST(record_batch, golden_records) {
  auto recs = read_records(shared_bytes(golden_v2));
  ASSERT_TRUE(recs) << recs.error().message;
  ASSERT_EQ(recs->size(), 2u);
  EXPECT_EQ((*recs)[0].offset, 0);
  EXPECT_EQ((*recs)[0].timestamp, 1000);
  EXPECT_EQ(text((*recs)[0].key), "k");
  EXPECT_EQ(text((*recs)[0].value), "v");
  EXPECT_TRUE((*recs)[0].headers.empty());
  EXPECT_EQ((*recs)[1].offset, 1);
  EXPECT_EQ((*recs)[1].timestamp, 1005);
  EXPECT_FALSE((*recs)[1].key);
  EXPECT_EQ(text((*recs)[1].value), "hi");
  ASSERT_EQ((*recs)[1].headers.size(), 1u);
  EXPECT_EQ(as_text((*recs)[1].headers[0].key), "h");
  EXPECT_FALSE((*recs)[1].headers[0].value);
}

TEST(record_batch, builder_reproduces_golden_bytes) {
  batch_options o;
  o.partition_leader_epoch = 0;
  record_batch_builder b(o);
  b.add(1000, as_bytes("k"), as_bytes("v"));
  const record_header hdr{as_bytes("h"), std::nullopt};
  b.add(1005, std::nullopt, as_bytes("hi"), std::span<const record_header>(&hdr, 1));
  auto built = b.build();
  ASSERT_TRUE(built);
  EXPECT_EQ(*built, golden_v2);
}

TEST(record_batch, corrupted_crc_is_detected) {
  byte_vector bad = golden_v2;
  bad[70] ^= 0x01;  // flip a bit in a record
  auto h = record_batch_header::parse(bad);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->verify_crc());
  auto c = check_batch_crc(bad);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().is(errc::corrupt));
  auto r = record_reader::open(shared_bytes(bad));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::corrupt));
  // Fields outside the CRC range (base offset, leader epoch) do not break it.
  byte_vector moved = golden_v2;
  moved[7] = 99;
  moved[15] = 7;
  EXPECT_TRUE(check_batch_crc(moved));
}

TEST(record_batch, header_rejects_bad_input) {
  EXPECT_FALSE(record_batch_header::parse(byte_view(golden_v2).first(60)));
  byte_vector magic1 = golden_v2;
  magic1[16] = 1;
  EXPECT_FALSE(record_batch_header::parse(magic1));
  byte_vector short_len = golden_v2;
  short_len[11] = 10;
  EXPECT_FALSE(record_batch_header::parse(short_len));
}

// Builds a batch with varied records: null keys, tombstones, headers, negative deltas.
struct sample {
  std::int64_t ts;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

std::vector<sample> samples(int n) {
  std::vector<sample> out;
  for (int i = 0; i < n; ++i) {
    sample s;
    s.ts = 1700000000000 + (i % 7 == 3 ? -50 : i * 10);  // one negative delta per 7
    if (i % 5 != 1) s.key = "key-" + std::to_string(i);
    if (i % 4 != 2) s.value = std::string(static_cast<std::size_t>(i % 300), static_cast<char>('a' + i % 26)) +
                              R"({"n":)" + std::to_string(i) + "}";
    for (int h = 0; h < i % 3; ++h) {
      s.headers.emplace_back("hk" + std::to_string(h),
                             h == 1 ? std::nullopt : std::optional<std::string>("hv" + std::to_string(i)));
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<byte_view> opt_bytes(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return as_bytes(*s);
}

byte_vector build_samples(const std::vector<sample>& in, batch_options o) {
  record_batch_builder b(o);
  for (const auto& s : in) {
    std::vector<record_header> hs;
    for (const auto& [k, v] : s.headers) hs.push_back({as_bytes(k), opt_bytes(v)});
    b.add(s.ts, opt_bytes(s.key), opt_bytes(s.value), hs);
  }
  auto out = b.build();
  EXPECT_TRUE(out);
  return out ? *out : byte_vector{};
}

void expect_samples(const record_set& got, const std::vector<sample>& want, std::int64_t base_offset) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].offset, base_offset + static_cast<std::int64_t>(i));
    EXPECT_EQ(got[i].timestamp, want[i].ts);
    EXPECT_EQ(got[i].key.has_value(), want[i].key.has_value());
    if (want[i].key) {
      EXPECT_EQ(text(got[i].key), *want[i].key);
    }
    EXPECT_EQ(got[i].value.has_value(), want[i].value.has_value());
    if (want[i].value) {
      EXPECT_EQ(text(got[i].value), *want[i].value);
    }
    ASSERT_EQ(got[i].headers.size(), want[i].headers.size());
    for (std::size_t h = 0; h < want[i].headers.size(); ++h) {
      EXPECT_EQ(as_text(got[i].headers[h].key), want[i].headers[h].first);
      EXPECT_EQ(text(got[i].headers[h].value), want[i].headers[h].second.value_or("<null>"));
    }
  }
}

TEST(record_batch, builder_splitter_reader_round_trip_every_codec) {
  const auto want = samples(500);
  for (auto codec : {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                     compression_codec::lz4, compression_codec::zstd}) {
    SCOPED_TRACE(std::string(to_string(codec)));
    // Three batches back to back, as in a fetch response.
    byte_vector response;
    for (int k = 0; k < 3; ++k) {
      batch_options o;
      o.codec = codec;
      o.base_offset = 1000 + k * 500;
      o.producer_id = 77;
      o.producer_epoch = 3;
      o.base_sequence = k * 500;
      const auto batch = build_samples(want, o);
      response.insert(response.end(), batch.begin(), batch.end());
    }
    auto split = split_batches(shared_bytes(response));
    ASSERT_TRUE(split) << split.error().message;
    EXPECT_FALSE(split->truncated);
    ASSERT_EQ(split->batches.size(), 3u);
    for (int k = 0; k < 3; ++k) {
      const auto& fb = split->batches[static_cast<std::size_t>(k)];
      EXPECT_EQ(fb.magic, 2);
      EXPECT_EQ(fb.base_offset, 1000 + k * 500);
      EXPECT_EQ(fb.last_offset, 1000 + k * 500 + 499);
      auto h = record_batch_header::parse(fb.bytes.view());
      ASSERT_TRUE(h);
      EXPECT_EQ(h->codec(), codec);
      EXPECT_EQ(h->producer_id(), 77);
      EXPECT_EQ(h->producer_epoch(), 3);
      EXPECT_EQ(h->base_sequence(), k * 500);
      EXPECT_EQ(h->records_count(), 500);
      EXPECT_EQ(h->base_timestamp(), want[0].ts);
      EXPECT_EQ(h->max_timestamp(), 1700000000000 + 499 * 10);
      EXPECT_TRUE(h->verify_crc());
      auto recs = read_records(fb.bytes);
      ASSERT_TRUE(recs) << recs.error().message;
      expect_samples(*recs, want, 1000 + k * 500);
    }
  }
}

TEST(record_batch, splitter_slices_share_the_response_buffer) {
  byte_vector response = golden_v2;
  response.insert(response.end(), golden_v2.begin(), golden_v2.end());
  const shared_bytes all(response);
  auto split = split_batches(all);
  ASSERT_TRUE(split);
  ASSERT_EQ(split->batches.size(), 2u);
  EXPECT_EQ(split->batches[0].bytes.data(), all.data());
  EXPECT_EQ(split->batches[1].bytes.data(), all.data() + golden_v2.size());
}

TEST(record_batch, truncated_trailing_batch_stops_without_error) {
  byte_vector response = golden_v2;
  byte_vector second = golden_v2;
  second[7] = 2;  // base offset 2
  response.insert(response.end(), second.begin(), second.end());
  // Every cut inside the second batch (including inside its 12-byte prefix) is "stop here".
  for (std::size_t cut = golden_v2.size() + 1; cut < response.size(); ++cut) {
    batch_splitter s(shared_bytes(byte_vector(response.begin(), response.begin() + static_cast<std::ptrdiff_t>(cut))));
    auto first = s.next();
    ASSERT_TRUE(first && *first);
    auto next = s.next();
    ASSERT_TRUE(next) << "cut " << cut;
    EXPECT_FALSE(*next);
    EXPECT_TRUE(s.truncated());
    EXPECT_EQ(s.position(), golden_v2.size());
    EXPECT_EQ(s.next_offset(), 2);
  }
  batch_splitter whole{shared_bytes(response)};
  ASSERT_TRUE(whole.next() && whole.next());
  auto end = whole.next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
  EXPECT_FALSE(whole.truncated());
}

TEST(record_batch, splitter_rejects_unknown_magic_and_tiny_lengths) {
  byte_vector bad = golden_v2;
  bad[16] = 3;
  EXPECT_FALSE(split_batches(shared_bytes(bad)));
  byte_vector tiny = golden_v2;
  tiny[11] = 2;  // batch_length 2
  EXPECT_FALSE(split_batches(shared_bytes(tiny)));
}

TEST(record_batch, malformed_records_are_errors) {
  // Record count larger than the records present.
  byte_vector more = golden_v2;
  more[60] = 3;
  auto h = record_batch_header::parse(more);
  ASSERT_TRUE(h);
  record_reader_options no_crc;
  no_crc.verify_crc = false;
  EXPECT_FALSE(read_records(shared_bytes(more), no_crc));
  // Fewer: trailing bytes after the last record.
  byte_vector fewer = golden_v2;
  fewer[60] = 1;
  EXPECT_FALSE(read_records(shared_bytes(fewer), no_crc));
  // A key length pointing past the record.
  byte_vector long_key = golden_v2;
  long_key[65] = 0x40;
  EXPECT_FALSE(read_records(shared_bytes(long_key), no_crc));
}

// base + delta outside int64 was signed overflow (undefined behaviour) on untrusted bytes; now
// the batch is corrupt. golden_v2's record 1 has offset delta 1 and timestamp delta 5.
TEST(record_batch, offset_and_timestamp_deltas_that_overflow_are_corrupt) {
  const auto put_i64 = [](byte_vector& b, std::size_t at, std::int64_t v) {
    for (int i = 0; i < 8; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (56 - 8 * i));
  };
  record_reader_options no_crc;
  no_crc.verify_crc = false;
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();

  byte_vector offsets = golden_v2;
  put_i64(offsets, 0, max);  // base offset at the top: record 1 is max + 1
  auto o = read_records(shared_bytes(offsets), no_crc);
  ASSERT_FALSE(o) << "read " << o->records.size() << " records, the last at offset " << o->records.back().offset;
  EXPECT_TRUE(o.error().is(errc::corrupt)) << o.error().message;
  EXPECT_NE(o.error().message.find("offset delta 1 overflows the base offset"), std::string::npos) << o.error().message;

  byte_vector stamps = golden_v2;
  put_i64(stamps, 27, max - 2);  // base timestamp: record 1 is max + 3
  auto t = read_records(shared_bytes(stamps), no_crc);
  ASSERT_FALSE(t) << "read " << t->records.size() << " records, the last at " << t->records.back().timestamp;
  EXPECT_TRUE(t.error().is(errc::corrupt)) << t.error().message;
  EXPECT_NE(t.error().message.find("timestamp delta 5 overflows the base timestamp"), std::string::npos)
      << t.error().message;

  byte_vector low = golden_v2;
  put_i64(low, 27, std::numeric_limits<std::int64_t>::min());  // deltas only add: the bottom is fine
  auto fine = read_records(shared_bytes(low), no_crc);
  ASSERT_TRUE(fine) << fine.error().message;
  EXPECT_EQ(fine->records[1].timestamp, std::numeric_limits<std::int64_t>::min() + 5);
}

TEST(record_batch, builder_rejects_empty_batch) {
  record_batch_builder b;
  auto r = b.build();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::invalid_argument));
}

TEST(record_batch, control_batch_commit_and_abort) {
  for (auto type : {control_type::commit, control_type::abort}) {
    auto batch = build_control_batch(type, 4242, 5, 17, 1234, 90);
    ASSERT_TRUE(batch);
    auto h = record_batch_header::parse(*batch);
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->is_control());
    EXPECT_TRUE(h->is_transactional());
    EXPECT_EQ(h->producer_id(), 4242);
    auto reader = record_reader::open(shared_bytes(*batch));
    ASSERT_TRUE(reader);
    EXPECT_TRUE(reader->is_control());
    record r;
    ASSERT_TRUE(*reader->next(r));
    // Key bytes per the spec: version int16 0, type int16 (0 abort, 1 commit).
    ASSERT_TRUE(r.key);
    const byte_vector expected_key = {0, 0, 0, static_cast<std::uint8_t>(type == control_type::commit ? 1 : 0)};
    EXPECT_EQ(byte_vector(r.key->begin(), r.key->end()), expected_key);
    auto c = parse_control_record(r);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->version, 0);
    EXPECT_EQ(c->type, type);
    EXPECT_EQ(c->coordinator_epoch, 17);
    EXPECT_EQ(r.offset, 90);
  }
  record bogus;
  const byte_vector key = {0, 0, 0, 9};
  bogus.key = byte_view(key);
  EXPECT_FALSE(parse_control_record(bogus));
}

TEST(record_batch, patcher_rewrites_fields_and_crc) {
  batch_options o;
  o.codec = compression_codec::lz4;
  o.producer_id = 5;
  o.producer_epoch = 1;
  o.base_sequence = 10;
  o.transactional = true;
  o.base_offset = 300;
  const auto want = samples(20);
  auto batch = build_samples(want, o);
  batch_header_patch p;
  p.base_offset = 7;
  p.partition_leader_epoch = 9;
  p.producer_id = -1;
  p.producer_epoch = -1;
  p.base_sequence = -1;
  p.transactional = false;
  p.has_delete_horizon = false;
  ASSERT_TRUE(patch_batch_header(batch, p));
  auto h = record_batch_header::parse(batch);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset(), 7);
  EXPECT_EQ(h->partition_leader_epoch(), 9);
  EXPECT_EQ(h->producer_id(), -1);
  EXPECT_EQ(h->producer_epoch(), -1);
  EXPECT_EQ(h->base_sequence(), -1);
  EXPECT_FALSE(h->is_transactional());
  EXPECT_EQ(h->codec(), compression_codec::lz4);
  // CRC recomputed: check it against an independent recomputation over bytes 21..end.
  EXPECT_EQ(h->crc(), crc32c_portable(0, byte_view(batch).subspan(21)));
  EXPECT_TRUE(check_batch_crc(batch));
  auto recs = read_records(shared_bytes(batch));
  ASSERT_TRUE(recs);
  expect_samples(*recs, want, 7);
  // Patching a truncated batch is refused.
  EXPECT_FALSE(patch_batch_header(mutable_byte_view(batch).first(batch.size() - 1), p));
}

TEST(record_batch, log_append_time_uses_max_timestamp) {
  batch_options o;
  o.ts_type = timestamp_type::log_append_time;
  record_batch_builder b(o);
  b.add(10, as_bytes("a"), as_bytes("1"));
  b.add(30, as_bytes("b"), as_bytes("2"));
  auto batch = b.build();
  ASSERT_TRUE(batch);
  auto recs = read_records(shared_bytes(*batch));
  ASSERT_TRUE(recs);
  ASSERT_EQ(recs->size(), 2u);
  EXPECT_EQ((*recs)[0].timestamp, 30);
  EXPECT_EQ((*recs)[0].ts_type, timestamp_type::log_append_time);
}

// ---- legacy message sets (magic 0 and 1) ---------------------------------------------------
// Generated from the Kafka protocol guide's MessageSet layout with Python's zlib (CRC-32 IEEE)
// and gzip (mtime 0): offset int64, size int32, crc uint32, magic, attributes,
// [timestamp int64 in v1], key int32-length bytes, value int32-length bytes.

// v0, offset 5, key "k", value "v".
const byte_vector legacy_v0 = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // offset 5
                               0x00, 0x00, 0x00, 0x10,                          // size 16
                               0x1f, 0xec, 0xd7, 0x0a,                          // crc
                               0x00, 0x00,                                      // magic 0, attributes 0
                               0x00, 0x00, 0x00, 0x01, 0x6b,                    // key "k"
                               0x00, 0x00, 0x00, 0x01, 0x76};                   // value "v"
// v1, offset 7, timestamp 1700000000000, null key, value "hi".
const byte_vector legacy_v1 = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x18,
                               0xdb, 0xa4, 0xe6, 0xe2, 0x01, 0x00,                          // crc, magic 1, attr 0
                               0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,              // timestamp
                               0xff, 0xff, 0xff, 0xff,                                      // key null
                               0x00, 0x00, 0x00, 0x02, 0x68, 0x69};                         // value "hi"
// v1 gzip wrapper at offset 12 holding relative offsets 0,1,2 (a/1 @1000, b/2 @1001, c/null @1002).
const byte_vector legacy_v1_gzip = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x61, 0xf3, 0x70, 0xf7, 0x58, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xea, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x4b, 0x1f, 0x8b, 0x08, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0x80, 0x03, 0x89, 0xb5, 0x07, 0xae, 0xbd, 0x64, 0x84, 0x72, 0x98,
    0x5f, 0x00, 0x09, 0xc6, 0x44, 0x10, 0x61, 0x08, 0x15, 0x02, 0x49, 0x49, 0x14, 0x5f, 0xd6, 0xb2, 0x85, 0xab, 0x79,
    0x09, 0x12, 0x4d, 0x02, 0x11, 0x46, 0x50, 0x21, 0x26, 0x20, 0x16, 0xaf, 0xdf, 0xeb, 0x13, 0x0a, 0x57, 0xf3, 0x0a,
    0x24, 0x9d, 0xfc, 0x1f, 0x08, 0x00, 0x0b, 0xb4, 0xad, 0x8a, 0x6b, 0x00, 0x00, 0x00};
// v0 gzip wrapper at offset 21 holding absolute offsets 20 (x/10) and 21 (y/11).
const byte_vector legacy_v0_gzip = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x45, 0xda, 0x14, 0xa5, 0xe4, 0x00, 0x01,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x37, 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03,
    0x63, 0x60, 0x00, 0x03, 0x11, 0x20, 0x16, 0xfc, 0x1f, 0x69, 0xad, 0x00, 0xe6, 0x31, 0x56, 0x00, 0x09, 0x26,
    0x43, 0x03, 0x88, 0x1c, 0x83, 0x28, 0x48, 0x52, 0x4f, 0x93, 0x81, 0x09, 0x22, 0x59, 0x09, 0x96, 0x34, 0x04,
    0x00, 0xbf, 0x0d, 0x2e, 0x5b, 0x3a, 0x00, 0x00, 0x00};

TEST(legacy_message_set, split_and_read_mixed_set) {
  byte_vector set;
  for (const auto* part : {&legacy_v0, &legacy_v1, &legacy_v1_gzip}) set.insert(set.end(), part->begin(), part->end());
  auto split = split_batches(shared_bytes(set));
  ASSERT_TRUE(split) << split.error().message;
  ASSERT_EQ(split->batches.size(), 3u);
  EXPECT_EQ(split->batches[0].magic, 0);
  EXPECT_EQ(split->batches[1].magic, 1);
  EXPECT_EQ(split->batches[2].magic, 1);
  EXPECT_EQ(split->batches[2].last_offset, 12);
  for (const auto& b : split->batches) EXPECT_TRUE(check_batch_crc(b.bytes.view()));

  auto v0 = read_records(split->batches[0].bytes);
  ASSERT_TRUE(v0) << v0.error().message;
  ASSERT_EQ(v0->size(), 1u);
  EXPECT_EQ((*v0)[0].offset, 5);
  EXPECT_EQ((*v0)[0].timestamp, -1);
  EXPECT_EQ((*v0)[0].ts_type, timestamp_type::none);
  EXPECT_EQ(text((*v0)[0].key), "k");
  EXPECT_EQ(text((*v0)[0].value), "v");

  auto v1 = read_records(split->batches[1].bytes);
  ASSERT_TRUE(v1);
  ASSERT_EQ(v1->size(), 1u);
  EXPECT_EQ((*v1)[0].offset, 7);
  EXPECT_EQ((*v1)[0].timestamp, 1700000000000);
  EXPECT_FALSE((*v1)[0].key);
  EXPECT_EQ(text((*v1)[0].value), "hi");
}

TEST(legacy_message_set, v1_gzip_wrapper_has_relative_inner_offsets) {
  auto recs = read_records(shared_bytes(legacy_v1_gzip));
  ASSERT_TRUE(recs) << recs.error().message;
  ASSERT_EQ(recs->size(), 3u);
  const char* keys[] = {"a", "b", "c"};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*recs)[i].offset, 10 + static_cast<std::int64_t>(i));  // KIP-31: 12 - 2 + i
    EXPECT_EQ((*recs)[i].timestamp, 1000 + static_cast<std::int64_t>(i));
    EXPECT_EQ(text((*recs)[i].key), keys[i]);
  }
  EXPECT_EQ(text((*recs)[0].value), "1");
  EXPECT_FALSE((*recs)[2].value);  // tombstone
}

TEST(legacy_message_set, v0_gzip_wrapper_has_absolute_inner_offsets) {
  auto recs = read_records(shared_bytes(legacy_v0_gzip));
  ASSERT_TRUE(recs) << recs.error().message;
  ASSERT_EQ(recs->size(), 2u);
  EXPECT_EQ((*recs)[0].offset, 20);
  EXPECT_EQ((*recs)[1].offset, 21);
  EXPECT_EQ(text((*recs)[0].key), "x");
  EXPECT_EQ(text((*recs)[1].value), "11");
}

TEST(legacy_message_set, crc32_mismatch_is_detected) {
  byte_vector bad = legacy_v1;
  bad.back() ^= 0x20;
  EXPECT_FALSE(check_batch_crc(bad));
  EXPECT_FALSE(read_records(shared_bytes(bad)));
}

TEST(legacy_message_set, truncated_tail_stops) {
  byte_vector set = legacy_v0;
  set.insert(set.end(), legacy_v1_gzip.begin(), legacy_v1_gzip.end() - 10);
  auto split = split_batches(shared_bytes(set));
  ASSERT_TRUE(split);
  EXPECT_EQ(split->batches.size(), 1u);
  EXPECT_TRUE(split->truncated);
}

TEST(legacy_message_set, converts_to_a_v2_batch_for_restore) {
  auto legacy = read_records(shared_bytes(legacy_v1_gzip));
  ASSERT_TRUE(legacy);
  batch_options o;
  o.codec = compression_codec::zstd;
  o.base_offset = (*legacy)[0].offset;
  record_batch_builder b(o);
  for (const auto& r : *legacy) b.add(r);
  auto v2 = b.build();
  ASSERT_TRUE(v2);
  auto h = record_batch_header::parse(*v2);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset(), 10);
  EXPECT_EQ(h->last_offset(), 12);
  EXPECT_EQ(h->max_timestamp(), 1002);
  auto back = read_records(shared_bytes(*v2));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*back)[i].offset, (*legacy)[i].offset);
    EXPECT_EQ((*back)[i].timestamp, (*legacy)[i].timestamp);
    EXPECT_EQ(text((*back)[i].key), text((*legacy)[i].key));
    EXPECT_EQ(text((*back)[i].value), text((*legacy)[i].value));
  }
  // The builder is reusable after build().
  b.add(5, as_bytes("again"), std::nullopt);
  auto second = b.build();
  ASSERT_TRUE(second);
  auto h2 = record_batch_header::parse(*second);
  ASSERT_TRUE(h2);
  EXPECT_EQ(h2->records_count(), 1);
  EXPECT_EQ(h2->base_timestamp(), 5);
  EXPECT_EQ(h2->max_timestamp(), 5);
}

// ---- real batches written by librdkafka (see testdata/librdkafka/README.md) ----------------

std::string testdata(const std::string& name) {
  std::ifstream in(std::string(KB_RECORDS_TESTDATA) + "/librdkafka/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::pair<std::string, std::string>> key_value_lines(const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(testdata(name));
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    out.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  return out;
}

class librdkafka_batches : public ::testing::TestWithParam<compression_codec> {};

TEST_P(librdkafka_batches, small_batch_with_headers_and_tombstone) {
  const auto codec = GetParam();
  const auto raw = testdata(std::string(to_string(codec)) + "_small.bin");
  const shared_bytes bytes(byte_vector(raw.begin(), raw.end()));
  auto split = split_batches(bytes);
  ASSERT_TRUE(split) << split.error().message;
  ASSERT_EQ(split->batches.size(), 1u);
  EXPECT_FALSE(split->truncated);
  auto h = record_batch_header::parse(bytes.view());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->codec(), codec);
  EXPECT_EQ(h->records_count(), 4);
  EXPECT_EQ(h->last_offset_delta(), 3);
  EXPECT_EQ(h->producer_id(), -1);
  EXPECT_TRUE(h->verify_crc());
  auto recs = read_records(bytes);
  ASSERT_TRUE(recs) << recs.error().message;
  const auto want = key_value_lines("small.txt");
  ASSERT_EQ(recs->size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& r = (*recs)[i];
    EXPECT_EQ(r.offset, static_cast<std::int64_t>(i));
    EXPECT_EQ(text(r.key), want[i].first);
    if (want[i].second.empty()) {
      EXPECT_FALSE(r.value) << "kcat -Z sends an empty value as null";
    } else {
      EXPECT_EQ(text(r.value), want[i].second);
    }
    EXPECT_GE(r.timestamp, h->base_timestamp());
    EXPECT_LE(r.timestamp, h->max_timestamp());
    ASSERT_EQ(r.headers.size(), 2u);
    EXPECT_EQ(as_text(r.headers[0].key), "trace");
    EXPECT_EQ(text(r.headers[0].value), "abc");
    EXPECT_EQ(as_text(r.headers[1].key), "empty");
    ASSERT_TRUE(r.headers[1].value);
    EXPECT_TRUE(r.headers[1].value->empty());
  }
}

TEST_P(librdkafka_batches, batch_of_300_json_records) {
  const auto codec = GetParam();
  const auto raw = testdata(std::string(to_string(codec)) + "_300.bin");
  byte_vector batch(raw.begin(), raw.end());
  auto h = record_batch_header::parse(batch);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->codec(), codec);
  EXPECT_EQ(h->records_count(), 300);
  EXPECT_TRUE(check_batch_crc(batch));
  const auto want = key_value_lines("300.txt");
  ASSERT_EQ(want.size(), 300u);
  auto check = [&](const byte_vector& b, std::int64_t base) {
    auto recs = read_records(shared_bytes(b));
    ASSERT_TRUE(recs) << recs.error().message;
    ASSERT_EQ(recs->size(), 300u);
    for (std::size_t i = 0; i < 300; ++i) {
      ASSERT_EQ((*recs)[i].offset, base + static_cast<std::int64_t>(i));
      ASSERT_EQ(text((*recs)[i].key), want[i].first) << i;
      ASSERT_EQ(text((*recs)[i].value), want[i].second) << i;
      ASSERT_TRUE((*recs)[i].headers.empty());
    }
  };
  check(batch, 0);
  // Restore's pass-through: new offsets and producer fields, CRC recomputed, records intact.
  batch_header_patch p;
  p.base_offset = 5000;
  p.producer_id = 1234;
  p.producer_epoch = 2;
  p.base_sequence = 0;
  ASSERT_TRUE(patch_batch_header(batch, p));
  EXPECT_TRUE(check_batch_crc(batch));
  check(batch, 5000);
}

INSTANTIATE_TEST_SUITE_P(codecs, librdkafka_batches,
                         ::testing::Values(compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                                           compression_codec::lz4, compression_codec::zstd),
                         [](const auto& param_info) { return std::string(to_string(param_info.param)); });

}  // namespace
}  // namespace kb::protocol
