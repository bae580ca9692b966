// Test helpers for the format tests: real Kafka record batches (captured from librdkafka, see
// tests/protocol/records/testdata) re-based to chosen offsets, their index entries taken from
// the batch header, and a temp directory that removes itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/records/record_batch.hpp"
#include "storage/format/segment.hpp"

namespace kb::storage::format::testing {

inline byte_vector read_testdata(const std::string& name) {
  const std::string path = std::string(KB_RECORDS_TESTDATA) + "/librdkafka/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing test batch " << path;
  return byte_vector(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct test_batch {
  byte_vector bytes;
  batch_entry entry;
};

/// The entry a backup would record for `bytes`, read from the v2 header (independent of the
/// segment code under test).
inline batch_entry entry_of(byte_view bytes) {
  auto h = protocol::record_batch_header::parse(bytes);
  EXPECT_TRUE(h.has_value());
  batch_entry e;
  e.first_offset = h->base_offset();
  e.last_offset = h->last_offset();
  e.first_timestamp = h->base_timestamp();
  e.max_timestamp = h->max_timestamp();
  e.record_count = h->records_count();
  e.producer_id = h->producer_id();
  e.producer_epoch = h->producer_epoch();
  e.base_sequence = h->base_sequence();
  if (h->is_transactional()) e.flags |= batch_flags::transactional;
  if (h->is_control()) e.flags |= batch_flags::control;
  return e;
}

/// A captured batch moved to `base_offset` (header patched, CRC recomputed).
inline test_batch rebased(const std::string& file, std::int64_t base_offset) {
  test_batch b;
  b.bytes = read_testdata(file);
  protocol::batch_header_patch p;
  p.base_offset = base_offset;
  EXPECT_TRUE(protocol::patch_batch_header(b.bytes, p).has_value());
  b.entry = entry_of(b.bytes);
  return b;
}

/// `count` batches cycling through the captured files, back to back from `first_offset`.
inline std::vector<test_batch> batch_run(std::int64_t first_offset, int count) {
  static const char* files[] = {"none_small.bin", "gzip_300.bin", "lz4_small.bin", "zstd_300.bin",
                                "snappy_small.bin", "none_300.bin"};
  std::vector<test_batch> out;
  std::int64_t next = first_offset;
  for (int i = 0; i < count; ++i) {
    out.push_back(rebased(files[i % 6], next));
    next = out.back().entry.last_offset + 1;
  }
  return out;
}

/// Compresses every sealed frame (as the pipeline's pool does) and finishes the segment.
inline byte_vector finish_segment(segment_builder b, std::vector<segment_builder::raw_frame> sealed) {
  if (auto last = b.seal_frame()) sealed.push_back(std::move(*last));
  std::vector<byte_vector> compressed(sealed.size());
  for (auto& f : sealed) {
    auto c = encode_frame(b.opts().header.codec, b.opts().compression_level, f.raw, b.opts().header.filter);
    EXPECT_TRUE(c.has_value());
    compressed.at(f.frame) = std::move(*c);
  }
  auto bytes = std::move(b).finish(std::move(compressed));
  EXPECT_TRUE(bytes.has_value()) << (bytes ? "" : bytes.error().message);
  return bytes ? std::move(*bytes) : byte_vector{};
}

/// Builds a whole segment from `batches` (plus gaps and spans) in one go.
inline byte_vector build_segment(const std::vector<test_batch>& batches, frame_codec codec,
                                 std::uint32_t frame_target = 1u << 20, const std::vector<offset_gap>& gaps = {},
                                 const std::vector<txn_span>& txns = {}, const std::string& topic = "orders",
                                 std::int32_t partition = 3) {
  segment_builder::options o;
  o.header = {topic, partition, codec, 1'700'000'000'000};
  o.frame_target_bytes = frame_target;
  segment_builder b(o);
  std::vector<segment_builder::raw_frame> sealed;
  for (const auto& t : batches)
    if (auto f = b.append(t.bytes, t.entry)) sealed.push_back(std::move(*f));
  for (const auto& g : gaps) b.add_gap(g);
  for (const auto& s : txns) b.add_txn_span(s);
  return finish_segment(std::move(b), std::move(sealed));
}

/// A fresh directory under the system temp dir, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("kb-format-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace kb::storage::format::testing
