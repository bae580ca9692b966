// Batch-header parsing throughput in bytes of batch data per second (GB/s): the zero-copy v2
// header view alone, and with the CRC-32C check backup runs on every fetched batch.
#include "protocol/records/record_batch.hpp"

#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_data.hpp"

namespace {

using kb::protocol::compression_codec;

/// About 16 MiB of identical batches of `records` records with 1000-byte values.
std::vector<kb::byte_vector> batches_of(int records) {
  const auto batch = kb::bench::make_batch(compression_codec::none, records, 1000);
  const std::size_t n = std::max<std::size_t>(1, (16u << 20) / batch.size());
  return std::vector<kb::byte_vector>(n, batch);
}

std::int64_t total_bytes(const std::vector<kb::byte_vector>& batches) {
  std::int64_t n = 0;
  for (const auto& b : batches) n += static_cast<std::int64_t>(b.size());
  return n;
}

void BM_batch_header_parse(benchmark::State& state) {
  const auto batches = batches_of(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    for (const auto& b : batches) {
      auto h = kb::protocol::record_batch_header::parse(b);
      benchmark::DoNotOptimize(h->last_offset());
      benchmark::DoNotOptimize(h->max_timestamp());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * total_bytes(batches));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batches.size()));
}

void BM_batch_header_parse_and_crc(benchmark::State& state) {
  const auto batches = batches_of(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    for (const auto& b : batches) {
      auto h = kb::protocol::record_batch_header::parse(b);
      benchmark::DoNotOptimize(h->verify_crc());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * total_bytes(batches));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batches.size()));
}

}  // namespace

// Records per batch (1000-byte values): ~1 KiB, ~16 KiB, ~1 MiB batches.
BENCHMARK(BM_batch_header_parse)->Arg(1)->Arg(16)->Arg(1000);
BENCHMARK(BM_batch_header_parse_and_crc)->Arg(1)->Arg(16)->Arg(1000);
BENCHMARK_MAIN();
