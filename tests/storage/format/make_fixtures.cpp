// Writes the committed format-v1 fixtures under tests/storage/format/fixtures/v1: one backup set
// `fixture` (backup.json, topic.json, one zstd segment with gaps, a transaction, a marker and a
// Kafka-compressed batch, checkpoint.json, a group snapshot). Run ONCE by hand when the fixtures
// were made; fixtures_test.cpp checks that today's readers still decode them to the values
// written there by hand. Do not regenerate to make that test pass: a format change must stay
// readable. Usage: make_fixtures OUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "protocol/records/record_batch.hpp"
#include "storage/format/frame_filter.hpp"
#include "storage/format/manifest.hpp"
#include "storage/format/segment.hpp"

namespace {

using namespace kb::storage::format;
namespace fs = std::filesystem;

constexpr std::int64_t t0 = 1'700'000'000'000;

bool write_file(const fs::path& path, kb::byte_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

bool write_text(const fs::path& path, const std::string& text) { return write_file(path, kb::as_bytes(text)); }

struct built_segment {
  kb::byte_vector bytes;
  segment_index index;
};

/// One batch of `keys`/`values` (an empty string key is a null key, "" value a tombstone).
kb::byte_vector batch(kb::protocol::batch_options bo, std::int64_t ts, const std::vector<std::string>& keys,
                      const std::vector<std::string>& values) {
  kb::protocol::record_batch_builder rb(bo);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto key = keys[i].empty() ? std::nullopt : std::optional<kb::byte_view>(kb::as_bytes(keys[i]));
    const auto value = values[i].empty() ? std::nullopt : std::optional<kb::byte_view>(kb::as_bytes(values[i]));
    if (i == 0) {
      const std::string hv = "trace-1";
      const kb::protocol::record_header h{kb::as_bytes(std::string_view("h")), kb::as_bytes(hv)};
      rb.add(ts + static_cast<std::int64_t>(i), key, value, std::span(&h, 1));
    } else {
      rb.add(ts + static_cast<std::int64_t>(i), key, value);
    }
  }
  auto b = rb.build();
  return b ? *b : kb::byte_vector{};
}

std::optional<built_segment> make_segment() {
  segment_builder::options o;
  o.header = {"orders", 3, frame_codec::zstd, t0};
  o.frame_target_bytes = 200;  // several frames
  segment_builder b(o);
  std::vector<segment_builder::raw_frame> sealed;
  auto add = [&](const kb::byte_vector& bytes, batch_entry e) {
    if (auto f = b.append(bytes, e)) sealed.push_back(std::move(*f));
  };
  b.add_gap({0, 99});  // lost to retention before the first fetch

  kb::protocol::batch_options plain;
  plain.base_offset = 100;
  add(batch(plain, t0 + 1000, {"k100", "", "k102", "k103"}, {"value-100", "value-101", "value-102", ""}),
      {100, 103, t0 + 1000, t0 + 1003, 4});

  kb::protocol::batch_options txn;
  txn.base_offset = 104;
  txn.producer_id = 42;
  txn.producer_epoch = 1;
  txn.base_sequence = 0;
  txn.transactional = true;
  add(batch(txn, t0 + 2000, {"t104", "t105", "t106"}, {"txn-104", "txn-105", "txn-106"}),
      {104, 106, t0 + 2000, t0 + 2002, 3, batch_flags::transactional, 42, 1, 0});

  auto marker = kb::protocol::build_control_batch(kb::protocol::control_type::commit, 42, 1, 5, t0 + 3000, 107);
  if (!marker) return std::nullopt;
  add(*marker, {107, 107, t0 + 3000, t0 + 3000, 1,
                batch_flags::control | batch_flags::transactional | batch_flags::commit_marker, 42, 1, -1});
  b.add_txn_span({42, 1, 104, 107, txn_outcome::committed});

  kb::protocol::batch_options lz4;
  lz4.base_offset = 108;
  lz4.codec = kb::protocol::compression_codec::lz4;
  add(batch(lz4, t0 + 4000, {"c108", "c109"}, {std::string(64, 'x'), std::string(64, 'y')}),
      {108, 109, t0 + 4000, t0 + 4001, 2});

  if (auto f = b.seal_frame()) sealed.push_back(std::move(*f));
  std::vector<kb::byte_vector> compressed(sealed.size());
  for (auto& f : sealed) {
    auto c = encode_frame(frame_codec::zstd, 3, f.raw, no_frame_filter);
    if (!c) return std::nullopt;
    compressed.at(f.frame) = std::move(*c);
  }
  auto seg = std::move(b).finish(std::move(compressed));
  if (!seg) return std::nullopt;
  auto index = parse_segment(*seg);
  if (!index) return std::nullopt;
  return built_segment{std::move(*seg), std::move(*index)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  const backup_paths paths{"fixture"};
  auto seg = make_segment();
  if (!seg) {
    std::fprintf(stderr, "make_fixtures: building the segment failed\n");
    return 1;
  }
  const auto seg_key = paths.segment("orders", 3, seg->index.first_offset(), seg->index.last_offset());

  backup_manifest m;
  m.tool_version = "0.1.0-fixture";
  m.backup_id = "fixture";
  m.source_cluster_id = "FixtureClusterId000000";
  m.bootstrap_servers = {"127.0.0.1:9092"};
  m.created_ms = t0;
  m.updated_ms = t0 + 5000;
  m.mode = "one-shot";
  m.compression = "zstd";
  m.topics = {"orders"};
  m.notes = {"consumer group offsets were not captured for group 'denied': not authorized"};

  topic_manifest t;
  t.name = "orders";
  t.topic_id = "5f2c3a1e-7b4d-4e8f-9a60-1c2d3e4f5a6b";
  t.partition_count = 4;
  t.replication_factor = 3;
  t.configs = {{"cleanup.policy", "delete"}, {"retention.ms", "604800000"}};

  partition_checkpoint c;
  c.topic = "orders";
  c.partition = 3;
  c.next_offset = seg->index.last_offset() + 1;
  c.last_segment = seg_key;
  c.segments = 1;
  c.records = seg->index.record_count();
  c.bytes_raw = seg->index.raw_bytes();
  c.bytes_stored = seg->bytes.size();
  c.first_offset = seg->index.first_offset();
  c.min_timestamp = t0 + 1000;
  c.max_timestamp = t0 + 4001;
  c.gaps = {{0, 99}};
  c.updated_ms = t0 + 5000;

  group_snapshot g;
  g.captured_ms = t0 + 5000;
  g.groups["billing"] = {{"orders", 3, 108, 7, "meta-1"}};
  g.groups["audit"] = {{"orders", 3, 100, -1, ""}, {"orders", 0, 0, -1, ""}};

  const bool ok = write_file(out / seg_key, seg->bytes) && write_text(out / paths.backup_manifest(), to_json(m)) &&
                  write_text(out / paths.topic_manifest("orders"), to_json(t)) &&
                  write_text(out / paths.checkpoint("orders", 3), to_json(c)) &&
                  write_text(out / paths.group_snapshot(g.captured_ms), to_json(g));
  if (!ok) {
    std::fprintf(stderr, "make_fixtures: writing under %s failed\n", argv[1]);
    return 1;
  }
  std::printf("segment %s: %zu bytes, %zu frames, %zu batches, raw %llu\n", seg_key.c_str(), seg->bytes.size(),
              seg->index.frames.size(), seg->index.batches.size(),
              static_cast<unsigned long long>(seg->index.raw_bytes()));
  return 0;
}
