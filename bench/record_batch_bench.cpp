// Backup hot path: splitting a fetch-sized buffer into batches, header parsing + CRC check,
// and (restore / PITR boundary) record iteration.
#include "protocol/records/record_batch.hpp"

#include <benchmark/benchmark.h>

#include "bench/bench_data.hpp"

namespace {

using kb::protocol::compression_codec;

// A fetch response body of about `bytes`, made of batches of `records_per_batch` 1 KiB records.
kb::shared_bytes fetch_buffer(std::size_t bytes, int records_per_batch) {
  const auto batch = kb::bench::make_batch(compression_codec::none, records_per_batch, 1000);
  kb::byte_vector out;
  out.reserve(bytes + batch.size());
  std::int64_t offset = 0;
  while (out.size() + batch.size() <= std::max(bytes, batch.size())) {
    const std::size_t at = out.size();
    out.insert(out.end(), batch.begin(), batch.end());
    for (int i = 0; i < 8; ++i) out[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(offset >> (56 - 8 * i));
    offset += records_per_batch;
  }
  return kb::shared_bytes(std::move(out));
}

void BM_split_batches(benchmark::State& state) {
  const auto buf = fetch_buffer(static_cast<std::size_t>(state.range(0)), 16);
  std::int64_t batches = 0;
  for (auto _ : state) {
    kb::protocol::batch_splitter s(buf);
    while (true) {
      auto b = s.next();
      if (!b || !*b) break;
      benchmark::DoNotOptimize((*b)->last_offset);
      ++batches;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
  state.counters["batches/s"] = benchmark::Counter(static_cast<double>(batches), benchmark::Counter::kIsRate);
}

// What backup does per batch: split, parse the header, verify the CRC-32C.
void BM_split_parse_verify(benchmark::State& state) {
  const auto buf = fetch_buffer(static_cast<std::size_t>(state.range(0)), 16);
  for (auto _ : state) {
    kb::protocol::batch_splitter s(buf);
    while (true) {
      auto b = s.next();
      if (!b || !*b) break;
      auto h = kb::protocol::record_batch_header::parse((*b)->bytes.view());
      benchmark::DoNotOptimize(h->verify_crc());
      benchmark::DoNotOptimize(h->max_timestamp());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}

void record_iteration(benchmark::State& state, compression_codec codec) {
  const int count = static_cast<int>(state.range(0));
  const std::size_t value_size = static_cast<std::size_t>(state.range(1));
  const kb::shared_bytes batch(kb::bench::make_batch(codec, count, value_size));
  std::size_t plain = 0;
  kb::protocol::record r;
  for (auto _ : state) {
    auto reader = kb::protocol::record_reader::open(batch);
    plain = 0;
    while (*reader->next(r)) plain += r.value ? r.value->size() : 0;
    benchmark::DoNotOptimize(plain);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * count * static_cast<std::int64_t>(value_size));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * count);
}

void BM_record_iteration_none(benchmark::State& state) { record_iteration(state, compression_codec::none); }
void BM_record_iteration_lz4(benchmark::State& state) { record_iteration(state, compression_codec::lz4); }
void BM_record_iteration_zstd(benchmark::State& state) { record_iteration(state, compression_codec::zstd); }

void BM_build_batch(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const std::size_t value_size = static_cast<std::size_t>(state.range(1));
  const auto values = kb::bench::json_payload(value_size * static_cast<std::size_t>(count));
  for (auto _ : state) {
    kb::protocol::record_batch_builder b;
    for (int i = 0; i < count; ++i) {
      b.add(1700000000000 + i, std::nullopt,
            kb::byte_view(values).subspan(static_cast<std::size_t>(i) * value_size, value_size));
    }
    benchmark::DoNotOptimize(b.build());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * count * static_cast<std::int64_t>(value_size));
}

}  // namespace

BENCHMARK(BM_split_batches)->RangeMultiplier(16)->Range(1 << 10, 16 << 20);
BENCHMARK(BM_split_parse_verify)->RangeMultiplier(16)->Range(1 << 10, 16 << 20);
// {records per batch, value bytes}: 100-byte (D1-like) and 1 KiB (D2-like) records.
BENCHMARK(BM_record_iteration_none)->Args({1000, 100})->Args({256, 1000})->Args({16, 65536});
BENCHMARK(BM_record_iteration_lz4)->Args({1000, 100})->Args({256, 1000});
BENCHMARK(BM_record_iteration_zstd)->Args({1000, 100})->Args({256, 1000});
BENCHMARK(BM_build_batch)->Args({1000, 100})->Args({256, 1000});
BENCHMARK_MAIN();
