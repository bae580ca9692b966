// Segment frame encode/decode (storage/format) per codec and level over a 1 MiB frame of
// record batches, the unit the backup compresses and the restore decompresses; plus encode of
// 1 MiB frames of other content: random bytes (D3), random 36-letter text (D4), JSON lines.
#include "storage/format/segment.hpp"

#include <random>

#include <benchmark/benchmark.h>

#include "bench/bench_data.hpp"
#include "storage/format/frame_filter.hpp"
#include "storage/format/segment_builder.hpp"

namespace {

using kb::storage::format::frame_codec;

// Raw frame content: uncompressed v2 batches back to back, like the broker hands them out.
kb::byte_vector frame_content(std::size_t target) {
  kb::byte_vector out;
  std::int64_t offset = 0;
  while (out.size() < target) {
    const auto batch = kb::bench::make_batch(kb::protocol::compression_codec::none, 64, 512, offset);
    out.insert(out.end(), batch.begin(), batch.end());
    offset += 64;
  }
  return out;
}

// Encodes `raw` with the codec and level of range(0) and range(1); reports bytes/s and the ratio.
void run_encode(benchmark::State& state, const kb::byte_vector& raw) {
  const auto codec = static_cast<frame_codec>(state.range(0));
  const int level = static_cast<int>(state.range(1));
  std::size_t stored = 0;
  for (auto _ : state) {
    auto enc = kb::storage::format::encode_frame(codec, level, raw, kb::storage::format::no_frame_filter);
    if (!enc) {
      state.SkipWithError("encode_frame failed");
      return;
    }
    stored = enc->size();
    benchmark::DoNotOptimize(enc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw.size()));
  state.counters["ratio"] = static_cast<double>(raw.size()) / static_cast<double>(stored);
}

void BM_frame_encode(benchmark::State& state) { run_encode(state, frame_content(1u << 20)); }

// kind 0 = uniformly random bytes (D3), kind 1 = random characters from a 36-letter alphabet
// (D4: no repeats for LZ4 to find, but zstd's entropy stage saves ~1/3), kind 2 = JSON lines
// that do not repeat (compressible, unlike frame_content's identical batches).
kb::byte_vector content_of_kind(std::size_t n, int kind) {
  if (kind == 2) return kb::bench::json_payload(n);
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937_64 rng(99);
  kb::byte_vector out(n);
  for (auto& b : out) {
    const auto r = rng();
    b = kind == 0 ? static_cast<std::uint8_t>(r) : static_cast<std::uint8_t>(alphabet[r % 36]);
  }
  return out;
}

void BM_frame_encode_kind(benchmark::State& state) {
  run_encode(state, content_of_kind(1u << 20, static_cast<int>(state.range(2))));
}

void BM_frame_decode(benchmark::State& state) {
  const auto codec = static_cast<frame_codec>(state.range(0));
  const int level = static_cast<int>(state.range(1));
  const auto raw = frame_content(1u << 20);
  const auto enc = kb::storage::format::encode_frame(codec, level, raw, kb::storage::format::no_frame_filter);
  if (!enc) {
    state.SkipWithError("encode_frame failed");
    return;
  }
  for (auto _ : state) {
    auto dec = kb::storage::format::decode_frame(codec, *enc, static_cast<std::uint32_t>(raw.size()),
                                                   kb::storage::format::no_frame_filter);
    if (!dec) {
      state.SkipWithError("decode_frame failed");
      return;
    }
    benchmark::DoNotOptimize(dec);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw.size()));
}

// (codec, level): none, lz4, zstd-1, zstd-3.
void frame_args(benchmark::internal::Benchmark* b) {
  b->Args({0, 0})->Args({1, 0})->Args({2, 1})->Args({2, 3});
}

// (codec, level, kind): none, lz4, zstd-1, zstd-3 over random bytes; lz4 and zstd-3 over
// 36-letter text and over JSON lines.
void kind_args(benchmark::internal::Benchmark* b) {
  b->Args({0, 0, 0})->Args({1, 0, 0})->Args({2, 1, 0})->Args({2, 3, 0});
  b->Args({1, 0, 1})->Args({2, 3, 1})->Args({1, 0, 2})->Args({2, 3, 2});
}

// Assembling an uncompressed segment of 8 frames of 1 MiB (segment_builder::finish_parts): the
// frame and file checksums (XXH3 over every stored byte, twice) and the index. The frames are
// built outside the timing; the segment's bytes are counted.
void BM_segment_finish_none(benchmark::State& state) {
  namespace sf = kb::storage::format;
  const auto raw = frame_content(1u << 20);
  constexpr std::uint32_t frames = 8;
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    sf::segment_builder b({.header = {.topic = "bench", .partition = 0, .codec = sf::frame_codec::none}});
    std::vector<kb::byte_vector> sealed;
    std::int64_t offset = 0;
    for (std::uint32_t f = 0; f < frames; ++f) {
      const sf::batch_entry e{.first_offset = offset, .last_offset = offset + 63, .record_count = 64,
                              .size = static_cast<std::uint32_t>(raw.size())};
      offset += 64;
      auto full = b.append(raw, e);  // a frame's worth: sealed by the append itself
      if (!full) full = b.seal_frame();
      if (full) sealed.push_back(std::move(full->raw));
    }
    state.ResumeTiming();
    auto parts = std::move(b).finish_parts(std::move(sealed));
    if (!parts) {
      state.SkipWithError("finish_parts failed");
      return;
    }
    bytes += parts->size();
    benchmark::DoNotOptimize(parts);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

}  // namespace

BENCHMARK(BM_segment_finish_none)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_frame_encode)->Apply(frame_args);
BENCHMARK(BM_frame_encode_kind)->Apply(kind_args);
BENCHMARK(BM_frame_decode)->Apply(frame_args);
BENCHMARK_MAIN();
