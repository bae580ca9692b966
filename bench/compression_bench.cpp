// Codec throughput on JSON-ish data, 16 KiB - 1 MiB (bytes are uncompressed bytes in both
// directions). The "ratio" counter is uncompressed / compressed.
#include "protocol/records/compression.hpp"

#include <benchmark/benchmark.h>

#include "bench/bench_data.hpp"

namespace {

using kb::protocol::compression_codec;

void compress_bench(benchmark::State& state, compression_codec codec, int level) {
  const auto data = kb::bench::json_payload(static_cast<std::size_t>(state.range(0)));
  std::size_t out = 0;
  for (auto _ : state) {
    auto c = kb::protocol::compress(codec, data, level);
    out = c->size();
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.counters["ratio"] = static_cast<double>(data.size()) / static_cast<double>(out);
}

void decompress_bench(benchmark::State& state, compression_codec codec, int level) {
  const auto data = kb::bench::json_payload(static_cast<std::size_t>(state.range(0)));
  const auto c = *kb::protocol::compress(codec, data, level);
  for (auto _ : state) {
    auto d = kb::protocol::decompress(codec, c, data.size());
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

constexpr int dflt = kb::protocol::default_compression_level;

void BM_compress_gzip(benchmark::State& s) { compress_bench(s, compression_codec::gzip, dflt); }
void BM_compress_snappy(benchmark::State& s) { compress_bench(s, compression_codec::snappy, dflt); }
void BM_compress_lz4(benchmark::State& s) { compress_bench(s, compression_codec::lz4, dflt); }
void BM_compress_zstd1(benchmark::State& s) { compress_bench(s, compression_codec::zstd, 1); }
void BM_compress_zstd3(benchmark::State& s) { compress_bench(s, compression_codec::zstd, 3); }
void BM_decompress_gzip(benchmark::State& s) { decompress_bench(s, compression_codec::gzip, dflt); }
void BM_decompress_snappy(benchmark::State& s) { decompress_bench(s, compression_codec::snappy, dflt); }
void BM_decompress_lz4(benchmark::State& s) { decompress_bench(s, compression_codec::lz4, dflt); }
void BM_decompress_zstd(benchmark::State& s) { decompress_bench(s, compression_codec::zstd, 3); }

}  // namespace

#define KB_CODEC_SWEEP RangeMultiplier(4)->Range(16 << 10, 1 << 20)
BENCHMARK(BM_compress_gzip)->KB_CODEC_SWEEP;
BENCHMARK(BM_compress_snappy)->KB_CODEC_SWEEP;
BENCHMARK(BM_compress_lz4)->KB_CODEC_SWEEP;
BENCHMARK(BM_compress_zstd1)->KB_CODEC_SWEEP;
BENCHMARK(BM_compress_zstd3)->KB_CODEC_SWEEP;
BENCHMARK(BM_decompress_gzip)->KB_CODEC_SWEEP;
BENCHMARK(BM_decompress_snappy)->KB_CODEC_SWEEP;
BENCHMARK(BM_decompress_lz4)->KB_CODEC_SWEEP;
BENCHMARK(BM_decompress_zstd)->KB_CODEC_SWEEP;
BENCHMARK_MAIN();
