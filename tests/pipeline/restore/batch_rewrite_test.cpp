// Restore batch rewrite: what is dropped, passed through byte for byte, or re-encoded, and that
// re-encoded records keep key, value, headers and CreateTime. Inputs are built here; expected
// values are the records the tests put in (and Kafka's documented header layout).
#include "pipeline/restore/batch_rewrite.hpp"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "protocol/records/record_batch.hpp"

namespace kb::pipeline::restore {
namespace {

namespace sf = storage::format;
using protocol::compression_codec;

struct rec {
  std::int64_t ts;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

byte_view view(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }
std::optional<std::string> str(const std::optional<byte_view>& v) {
  if (!v) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

byte_vector build(const std::vector<rec>& recs, std::int64_t base_offset, compression_codec codec = compression_codec::none,
                  protocol::timestamp_type tt = protocol::timestamp_type::create_time, bool transactional = false,
                  std::int64_t pid = -1) {
  protocol::batch_options o;
  o.codec = codec;
  o.base_offset = base_offset;
  o.ts_type = tt;
  o.transactional = transactional;
  o.producer_id = pid;
  o.producer_epoch = pid >= 0 ? 0 : -1;
  o.base_sequence = pid >= 0 ? 0 : -1;
  protocol::record_batch_builder b(o);
  for (const auto& r : recs) {
    std::vector<protocol::record_header> hs;
    for (const auto& [k, v] : r.headers) {
      hs.push_back({view(k), v ? std::optional<byte_view>(view(*v)) : std::nullopt});
    }
    b.add(r.ts, r.key ? std::optional<byte_view>(view(*r.key)) : std::nullopt,
          r.value ? std::optional<byte_view>(view(*r.value)) : std::nullopt, hs);
  }
  return b.build().value();
}

// Index entry as the backup writes it, from values the test knows.
sf::batch_entry entry_for(const byte_vector& batch, std::int64_t first, std::int64_t last, std::int32_t count,
                          std::int64_t first_ts, std::int64_t max_ts, std::uint16_t flags = 0, std::int64_t pid = -1) {
  sf::batch_entry e;
  e.first_offset = first;
  e.last_offset = last;
  e.record_count = count;
  e.first_timestamp = first_ts;
  e.max_timestamp = max_ts;
  e.flags = flags;
  e.producer_id = pid;
  e.position = 0;
  e.size = static_cast<std::uint32_t>(batch.size());
  return e;
}

std::shared_ptr<byte_vector> frame_of(const byte_vector& b) { return std::make_shared<byte_vector>(b); }

std::vector<rec> decode(const output_batch& ob) {
  auto set = protocol::read_records(shared_bytes(byte_vector(ob.bytes().begin(), ob.bytes().end())));
  EXPECT_TRUE(set) << set.error().message;
  std::vector<rec> out;
  for (const auto& r : *set) {
    rec x{r.timestamp, str(r.key), str(r.value), {}};
    for (const auto& h : r.headers) x.headers.emplace_back(std::string(as_text(h.key)), str(h.value));
    out.push_back(x);
  }
  return out;
}

void expect_same(const std::vector<rec>& got, const std::vector<rec>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].ts, want[i].ts) << i;
    EXPECT_EQ(got[i].key, want[i].key) << i;
    EXPECT_EQ(got[i].value, want[i].value) << i;
    EXPECT_EQ(got[i].headers, want[i].headers) << i;
  }
}

const std::vector<rec> sample = {
    {1000, std::nullopt, std::string("v0"), {}},
    {2000, std::string("k1"), std::nullopt, {{"h", std::string("a")}, {"h", std::nullopt}}},
    {3000, std::string("k2"), std::string("v2"), {{"x", std::string("")}}},
    {4000, std::string("k3"), std::string(""), {}},
};

TEST(batch_rewrite, plain_batch_passes_through_byte_for_byte) {
  auto bytes = build(sample, 100, compression_codec::zstd);
  auto frame = frame_of(bytes);
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame, entry_for(bytes, 100, 103, 4, 1000, 4000), false, {}, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].reencoded);
  EXPECT_EQ(out[0].storage, frame);  // shares the frame: no copy
  EXPECT_EQ(out[0].record_count, 4);
  EXPECT_EQ(out[0].sources, (std::vector<source_run>{{100, 4}}));
  EXPECT_EQ(byte_vector(out[0].bytes().begin(), out[0].bytes().end()), bytes);
}

TEST(batch_rewrite, stamp_sets_our_producer_and_keeps_records) {
  auto bytes = build(sample, 100, compression_codec::lz4, protocol::timestamp_type::create_time, true, 77);
  auto frame = frame_of(bytes);
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame, entry_for(bytes, 100, 103, 4, 1000, 4000), false, {}, out));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(stamp_producer(out[0], 4242, 3, 17));
  auto h = protocol::record_batch_header::parse(out[0].bytes()).value();
  EXPECT_EQ(h.producer_id(), 4242);
  EXPECT_EQ(h.producer_epoch(), 3);
  EXPECT_EQ(h.base_sequence(), 17);
  EXPECT_FALSE(h.is_transactional());
  EXPECT_TRUE(h.verify_crc());
  EXPECT_EQ(h.codec(), compression_codec::lz4);
  expect_same(decode(out[0]), sample);
}

TEST(batch_rewrite, control_empty_and_aborted_batches_are_dropped) {
  auto marker = protocol::build_control_batch(protocol::control_type::commit, 9, 0, 1, 5000, 10).value();
  auto data = build(sample, 6, compression_codec::none, protocol::timestamp_type::create_time, true, 9);
  std::vector<output_batch> out;
  rewrite_stats stats;
  ASSERT_TRUE(rewrite_batch(frame_of(marker),
                            entry_for(marker, 10, 10, 1, 5000, 5000, sf::batch_flags::control | sf::batch_flags::commit_marker, 9),
                            false, {}, out, &stats));
  ASSERT_TRUE(rewrite_batch(frame_of(data), entry_for(data, 6, 9, 4, 1000, 4000, sf::batch_flags::transactional, 9),
                            true, {}, out, &stats));
  auto empty_entry = entry_for(data, 20, 25, 0, 1000, 4000);
  ASSERT_TRUE(rewrite_batch(frame_of(data), empty_entry, false, {}, out, &stats));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(stats.dropped, 3u);
  EXPECT_EQ(stats.reasons[fate_reason::control], 1u);
  EXPECT_EQ(stats.reasons[fate_reason::aborted], 1u);
  EXPECT_EQ(stats.reasons[fate_reason::empty], 1u);
}

TEST(batch_rewrite, txn_filter_drops_aborted_and_unfinished_transactions_only) {
  auto e = [](std::int64_t off, std::int64_t pid, std::uint16_t flags) {
    sf::batch_entry x;
    x.first_offset = x.last_offset = off;
    x.producer_id = pid;
    x.flags = flags;
    x.record_count = 1;
    return x;
  };
  const auto T = sf::batch_flags::transactional;
  const auto C = sf::batch_flags::control | T;
  std::vector<sf::batch_entry> log = {
      e(0, 1, T), e(1, 2, T), e(2, 1, T), e(3, 1, C | sf::batch_flags::commit_marker),  // pid 1 commits 0,2
      e(4, 2, C | sf::batch_flags::abort_marker),                                        // pid 2 aborts 1
      e(5, 3, 0),                                                                        // not transactional
      e(6, 1, T), e(7, 1, C | sf::batch_flags::abort_marker),                            // pid 1 aborts 6
      e(8, 4, T),                                                                        // pid 4 never ends
  };
  txn_filter f;
  for (const auto& x : log) f.observe(x);
  f.finish();
  std::vector<std::int64_t> dropped;
  for (const auto& x : log)
    if (f.dropped(x)) dropped.push_back(x.first_offset);
  EXPECT_EQ(dropped, (std::vector<std::int64_t>{1, 6, 8}));

  txn_filter g;  // spans recorded by the backup index count too
  g.observe_span({5, 0, 10, 20, sf::txn_outcome::aborted});
  g.finish();
  EXPECT_TRUE(g.dropped(e(15, 5, T)));
  EXPECT_FALSE(g.dropped(e(21, 5, T)));
  EXPECT_FALSE(g.dropped(e(15, 6, T)));
}

TEST(batch_rewrite, window_cut_keeps_exactly_the_records_inside_inclusive) {
  auto bytes = build(sample, 50, compression_codec::gzip);
  std::vector<output_batch> out;
  rewrite_options o;
  o.window = {2000, 3000};
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 50, 53, 4, 1000, 4000), false, o, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].reencoded);
  EXPECT_EQ(out[0].sources, (std::vector<source_run>{{51, 2}}));
  expect_same(decode(out[0]), {sample[1], sample[2]});
  auto h = protocol::record_batch_header::parse(out[0].bytes()).value();
  EXPECT_EQ(h.codec(), compression_codec::gzip);
  EXPECT_EQ(h.last_offset_delta(), 1);
  EXPECT_EQ(h.records_count(), 2);
}

TEST(batch_rewrite, window_before_or_after_the_batch_drops_or_passes) {
  auto bytes = build(sample, 50);
  rewrite_options before;
  before.window.start = 4001;
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 50, 53, 4, 1000, 4000), false, before, out));
  EXPECT_TRUE(out.empty());
  rewrite_options around;
  around.window = {1000, 4000};  // exactly on the first and last timestamps
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 50, 53, 4, 1000, 4000), false, around, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].reencoded);
  rewrite_options after;
  after.window.end = 999;
  out.clear();
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 50, 53, 4, 1000, 4000), false, after, out));
  EXPECT_TRUE(out.empty());
}

TEST(batch_rewrite, negative_timestamp_delta_is_caught_by_inspection) {
  std::vector<rec> recs = {{5000, std::string("a"), std::string("1"), {}},
                           {1000, std::string("b"), std::string("2"), {}},
                           {6000, std::string("c"), std::string("3"), {}}};
  auto bytes = build(recs, 0);
  rewrite_options o;
  o.window.start = 4000;
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 0, 2, 3, 5000, 6000), false, o, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].reencoded);
  EXPECT_EQ(out[0].sources, (std::vector<source_run>{{0, 1}, {2, 1}}));
  expect_same(decode(out[0]), {recs[0], recs[2]});
}

TEST(batch_rewrite, compaction_gap_is_renumbered) {
  auto bytes = build(sample, 10);
  // Claim last offset delta 6 with 4 records, as the log cleaner leaves a batch; fix the CRC.
  bytes[23] = 0;
  bytes[24] = 0;
  bytes[25] = 0;
  bytes[26] = 6;
  ASSERT_TRUE(protocol::patch_batch_header(bytes, {}));
  std::vector<output_batch> out;
  rewrite_stats stats;
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 10, 16, 4, 1000, 4000), false, {}, out, &stats));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(stats.reasons[fate_reason::compaction_gap], 1u);
  auto h = protocol::record_batch_header::parse(out[0].bytes()).value();
  EXPECT_EQ(h.last_offset_delta(), 3);
  EXPECT_EQ(h.records_count(), 4);
  expect_same(decode(out[0]), sample);
}

TEST(batch_rewrite, log_append_time_becomes_create_time_with_the_visible_timestamp) {
  auto bytes = build(sample, 0, compression_codec::snappy, protocol::timestamp_type::log_append_time);
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 0, 3, 4, 1000, 4000, sf::batch_flags::log_append_time),
                            false, {}, out));
  ASSERT_EQ(out.size(), 1u);
  auto h = protocol::record_batch_header::parse(out[0].bytes()).value();
  EXPECT_EQ(h.ts_type(), protocol::timestamp_type::create_time);
  auto got = decode(out[0]);
  ASSERT_EQ(got.size(), 4u);
  for (const auto& r : got) EXPECT_EQ(r.ts, 4000);  // LogAppendTime readers saw max_timestamp
  EXPECT_EQ(got[1].headers, sample[1].headers);
}

// v1 gzip wrapper (Kafka MessageSet layout, Python zlib/gzip): last inner offset 12, relative
// inner offsets 0..2: a/1 @1000, b/2 @1001, c/null @1002.
const byte_vector legacy_v1_gzip = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x61, 0xf3, 0x70, 0xf7, 0x58, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xea, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x4b, 0x1f, 0x8b, 0x08, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0x80, 0x03, 0x89, 0xb5, 0x07, 0xae, 0xbd, 0x64, 0x84, 0x72, 0x98,
    0x5f, 0x00, 0x09, 0xc6, 0x44, 0x10, 0x61, 0x08, 0x15, 0x02, 0x49, 0x49, 0x14, 0x5f, 0xd6, 0xb2, 0x85, 0xab, 0x79,
    0x09, 0x12, 0x4d, 0x02, 0x11, 0x46, 0x50, 0x21, 0x26, 0x20, 0x16, 0xaf, 0xdf, 0xeb, 0x13, 0x0a, 0x57, 0xf3, 0x0a,
    0x24, 0x9d, 0xfc, 0x1f, 0x08, 0x00, 0x0b, 0xb4, 0xad, 0x8a, 0x6b, 0x00, 0x00, 0x00};

TEST(batch_rewrite, legacy_v1_entry_becomes_a_v2_batch) {
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame_of(legacy_v1_gzip),
                            entry_for(legacy_v1_gzip, 10, 12, 3, 1000, 1002, sf::batch_flags::legacy), false, {}, out));
  ASSERT_EQ(out.size(), 1u);
  auto h = protocol::record_batch_header::parse(out[0].bytes()).value();
  EXPECT_EQ(h.magic(), 2);
  EXPECT_EQ(h.codec(), compression_codec::gzip);
  EXPECT_EQ(out[0].sources, (std::vector<source_run>{{10, 3}}));
  expect_same(decode(out[0]), {{1000, std::string("a"), std::string("1"), {}},
                               {1001, std::string("b"), std::string("2"), {}},
                               {1002, std::string("c"), std::nullopt, {}}});
}

TEST(batch_rewrite, legacy_entry_without_index_timestamps_is_filtered_by_its_records) {
  // The backup indexes legacy entries without timestamps (-1): the window must look inside.
  std::vector<output_batch> out;
  rewrite_options o;
  o.window.start = 1001;
  ASSERT_TRUE(rewrite_batch(frame_of(legacy_v1_gzip), entry_for(legacy_v1_gzip, 12, 12, 3, -1, -1, sf::batch_flags::legacy),
                            false, o, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sources, (std::vector<source_run>{{11, 2}}));
  expect_same(decode(out[0]), {{1001, std::string("b"), std::string("2"), {}}, {1002, std::string("c"), std::nullopt, {}}});
}

TEST(batch_rewrite, oversized_batches_are_split_below_the_limit) {
  std::vector<rec> recs;
  for (int i = 0; i < 40; ++i) recs.push_back({1000 + i, "key" + std::to_string(i), std::string(100, char('a' + i % 26)), {}});
  auto bytes = build(recs, 0);
  rewrite_options o;
  o.max_batch_bytes = 1024;
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 0, 39, 40, 1000, 1039), false, o, out));
  ASSERT_GT(out.size(), 4u);
  std::vector<rec> all;
  std::int64_t next = 0;
  for (const auto& ob : out) {
    EXPECT_LE(ob.size, 1024u);
    ASSERT_EQ(ob.sources.size(), 1u);
    EXPECT_EQ(ob.sources[0].first, next);
    next += ob.record_count;
    auto got = decode(ob);
    all.insert(all.end(), got.begin(), got.end());
  }
  expect_same(all, recs);
}

TEST(batch_rewrite, resume_point_inside_a_batch_keeps_the_tail) {
  auto bytes = build(sample, 100);
  rewrite_options o;
  o.min_offset = 102;
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 100, 103, 4, 1000, 4000), false, o, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sources, (std::vector<source_run>{{102, 2}}));
  expect_same(decode(out[0]), {sample[2], sample[3]});
  o.min_offset = 104;
  out.clear();
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 100, 103, 4, 1000, 4000), false, o, out));
  EXPECT_TRUE(out.empty());
}

TEST(batch_rewrite, drop_leading_records_keeps_sources_aligned) {
  auto bytes = build(sample, 100, compression_codec::zstd);
  std::vector<output_batch> out;
  ASSERT_TRUE(rewrite_batch(frame_of(bytes), entry_for(bytes, 100, 103, 4, 1000, 4000), false, {}, out));
  auto rest = drop_leading_records(out[0], 3);
  ASSERT_TRUE(rest && *rest);
  EXPECT_EQ((*rest)->sources, (std::vector<source_run>{{103, 1}}));
  expect_same(decode(**rest), {sample[3]});
  auto none = drop_leading_records(out[0], 4);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(batch_rewrite, corrupt_stored_batch_is_an_integrity_error) {
  auto bytes = build(sample, 0);
  bytes.back() ^= 0xff;
  std::vector<output_batch> out;
  auto r = rewrite_batch(frame_of(bytes), entry_for(bytes, 0, 3, 4, 1000, 4000), false, {}, out);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::corrupt)) << r.error().message;
}

// ---- merge_small_batches ---------------------------------------------------------------------

// A stored batch as rewrite_batch passes it on: its own bytes, its records' source offsets.
output_batch passed(const std::vector<rec>& recs, std::vector<source_run> sources,
                    compression_codec codec = compression_codec::none,
                    protocol::timestamp_type tt = protocol::timestamp_type::create_time) {
  auto bytes = build(recs, sources.front().first, codec, tt);
  output_batch ob;
  ob.size = bytes.size();
  ob.storage = frame_of(bytes);
  ob.record_count = static_cast<std::int32_t>(recs.size());
  ob.sources = std::move(sources);
  return ob;
}

std::vector<rec> numbered(int first, int n) {
  std::vector<rec> out;
  for (int i = first; i < first + n; ++i) {
    out.push_back({1'000'000 + i * 7, "k" + std::to_string(i), std::string(100, static_cast<char>('a' + i % 26)),
                   {{"n", std::to_string(i)}}});
  }
  return out;
}

TEST(merge_small_batches, neighbours_become_one_batch_with_every_record_and_source_offset) {
  // Offset 20 was a transaction marker (dropped): the merged batch's sources keep the hole.
  std::vector<output_batch> in = {passed(numbered(0, 10), {{0, 10}}), passed(numbered(10, 10), {{10, 10}}),
                                  passed(numbered(20, 10), {{21, 10}})};
  rewrite_stats stats;
  ASSERT_TRUE(merge_small_batches(in, merge_limits{std::size_t{1} << 20}, &stats));
  ASSERT_EQ(in.size(), 1u);
  EXPECT_TRUE(in[0].reencoded);
  EXPECT_EQ(in[0].record_count, 30);
  EXPECT_EQ(in[0].sources, (std::vector<source_run>{{0, 20}, {21, 10}}));
  expect_same(decode(in[0]), numbered(0, 30));
  EXPECT_EQ(stats.merged_in, 3u);
  EXPECT_EQ(stats.merged_out, 1u);
  auto h = protocol::record_batch_header::parse(in[0].bytes());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->codec(), compression_codec::none);
  EXPECT_EQ(h->last_offset_delta(), 29);
}

TEST(merge_small_batches, compressed_log_append_time_and_large_batches_stay_as_they_are) {
  const std::size_t limit = 8 * 1024;
  std::vector<output_batch> in = {
      passed(numbered(0, 5), {{0, 5}}),
      passed(numbered(5, 5), {{5, 5}}, compression_codec::lz4),                              // compressed
      passed(numbered(10, 5), {{10, 5}}),
      passed(numbered(15, 5), {{15, 5}}, compression_codec::none, protocol::timestamp_type::log_append_time),
      passed(numbered(20, 40), {{20, 40}}),  // more than half the limit
      passed(numbered(60, 5), {{60, 5}}),
      passed(numbered(65, 5), {{65, 5}}),
  };
  ASSERT_GT(in[4].size, limit / 2);
  std::vector<std::size_t> sizes;
  for (const auto& b : in) sizes.push_back(b.size);
  rewrite_stats stats;
  ASSERT_TRUE(merge_small_batches(in, merge_limits{limit}, &stats));
  ASSERT_EQ(in.size(), 6u);  // only the last two merged
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_FALSE(in[i].reencoded) << i;
    EXPECT_EQ(in[i].size, sizes[i]) << i;
  }
  EXPECT_EQ(in[5].sources, (std::vector<source_run>{{60, 10}}));
  expect_same(decode(in[5]), numbered(60, 10));
  EXPECT_EQ(stats.merged_in, 2u);
  EXPECT_EQ(stats.merged_out, 1u);
}

TEST(merge_small_batches, groups_stay_within_the_limit_and_records_keep_their_order) {
  const std::size_t limit = 5000;
  std::vector<output_batch> in;
  for (int b = 0; b < 7; ++b) in.push_back(passed(numbered(b * 12, 12), {{b * 12, 12}}));
  ASSERT_LT(in[0].size * 3, limit);
  ASSERT_GT(in[0].size * 4, limit);  // three fit, four do not
  ASSERT_TRUE(merge_small_batches(in, merge_limits{limit}));
  ASSERT_EQ(in.size(), 3u);  // 3 + 3 + the last one alone
  EXPECT_EQ(in[0].record_count, 36);
  EXPECT_EQ(in[1].record_count, 36);
  EXPECT_EQ(in[2].record_count, 12);
  EXPECT_FALSE(in[2].reencoded);
  std::vector<rec> all;
  for (const auto& b : in) {
    EXPECT_LE(b.size, limit);
    auto d = decode(b);
    all.insert(all.end(), d.begin(), d.end());
  }
  expect_same(all, numbered(0, 84));
}

// The batches of one frame share its bytes. When some were merged (copied into a new batch) and one
// was not, that one held the whole frame until it was acknowledged while the restore's memory budget
// counted only its own bytes: a 100-byte-record restore peaked at ~270 MiB on a 128 MiB budget.
TEST(merge_small_batches, a_batch_left_unmerged_no_longer_holds_its_frame) {
  const std::size_t limit = 8 * 1024;
  std::vector<byte_vector> parts = {build(numbered(0, 5), 0), build(numbered(5, 5), 5), build(numbered(10, 40), 10)};
  ASSERT_GT(parts[2].size(), limit / 2);  // stays as it is
  auto frame = std::make_shared<byte_vector>();
  std::vector<output_batch> in;
  const std::vector<source_run> runs = {{0, 5}, {5, 5}, {10, 40}};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    output_batch ob;
    ob.storage = frame;
    ob.offset = frame->size();
    ob.size = parts[i].size();
    ob.record_count = runs[i].count;
    ob.sources = {runs[i]};
    frame->insert(frame->end(), parts[i].begin(), parts[i].end());
    in.push_back(std::move(ob));
  }
  rewrite_stats stats;
  ASSERT_TRUE(merge_small_batches(in, merge_limits{limit}, &stats));
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(stats.merged_in, 2u);
  EXPECT_FALSE(in[1].reencoded);
  EXPECT_NE(in[1].storage, frame);
  EXPECT_EQ(frame.use_count(), 1);  // only this test's own reference is left
  EXPECT_EQ(byte_vector(in[1].bytes().begin(), in[1].bytes().end()), parts[2]);
  expect_same(decode(in[0]), numbered(0, 10));
}

// A re-run resumes at a batch a killed run produced; from there it must form the same batches
// (same boundaries, so the same idempotent sequences).
TEST(merge_small_batches, a_resumed_list_forms_the_same_batches_from_a_group_start) {
  const std::size_t limit = 5000;
  auto make = [](int from) {
    std::vector<output_batch> v;
    for (int b = from; b < 9; ++b) v.push_back(passed(numbered(b * 12, 12), {{b * 12, 12}}));
    return v;
  };
  auto whole = make(0);
  auto resumed = make(3);  // the first group was three batches
  ASSERT_TRUE(merge_small_batches(whole, merge_limits{limit}));
  ASSERT_TRUE(merge_small_batches(resumed, merge_limits{limit}));
  ASSERT_EQ(whole.size(), resumed.size() + 1);
  for (std::size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_EQ(resumed[i].sources, whole[i + 1].sources) << i;
    EXPECT_EQ(byte_vector(resumed[i].bytes().begin(), resumed[i].bytes().end()),
              byte_vector(whole[i + 1].bytes().begin(), whole[i + 1].bytes().end()))
        << i;
  }
}

TEST(merge_small_batches, the_limits_leave_room_below_the_targets_batch_size_and_follow_the_rate) {
  EXPECT_EQ(merge_limits_for(1048588).bytes, 1048588u - 4096);  // the broker default: under it, not at 1 MiB
  EXPECT_EQ(merge_limits_for(8 << 20).bytes, std::size_t{1} << 20);
  EXPECT_EQ(merge_limits_for(10000).bytes, 5000u);
  EXPECT_EQ(merge_limits_for(1048588).records, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(merge_limits_for(1048588, 1000, 0).records, 250);
  EXPECT_EQ(merge_limits_for(1048588, 0, 100000).bytes, 25000u);
}

// With restore.rate_limit_records_per_sec a merged batch holds at most a quarter second's records:
// the limiter lets any single batch go, so a bigger one would burst past the rate.
TEST(merge_small_batches, a_record_rate_limit_caps_the_records_of_a_merged_batch) {
  std::vector<output_batch> in;
  for (int b = 0; b < 6; ++b) in.push_back(passed(numbered(b * 10, 10), {{b * 10, 10}}));
  ASSERT_TRUE(merge_small_batches(in, merge_limits_for(1048588, 100, 0)));  // 25 records per batch
  ASSERT_EQ(in.size(), 3u);
  for (const auto& b : in) EXPECT_EQ(b.record_count, 20);
}

}  // namespace
}  // namespace kb::pipeline::restore
