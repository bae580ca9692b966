// CRC-32C throughput: SSE4.2 (3-way interleaved) versus the portable slicing-by-8 table.
#include "base/crc32c.hpp"

#include <benchmark/benchmark.h>

#include "bench/bench_data.hpp"

namespace {

void BM_crc32c_hardware(benchmark::State& state) {
  if (!kb::crc32c_hardware_available()) {
    state.SkipWithError("CPU lacks SSE4.2");
    return;
  }
  const auto data = kb::bench::json_payload(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(kb::crc32c_hardware(0, data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_crc32c_portable(benchmark::State& state) {
  const auto data = kb::bench::json_payload(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(kb::crc32c_portable(0, data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

}  // namespace

BENCHMARK(BM_crc32c_hardware)->RangeMultiplier(16)->Range(1 << 10, 16 << 20);
BENCHMARK(BM_crc32c_portable)->RangeMultiplier(16)->Range(1 << 10, 16 << 20);
BENCHMARK_MAIN();
