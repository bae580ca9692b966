// SigV4 signing cost per S3 request, and the SHA-256 payload hash that dominates PUTs.
#include "storage/sigv4.hpp"

#include <benchmark/benchmark.h>

#include <chrono>

#include "bench/bench_data.hpp"

namespace {

kb::storage::aws_credentials bench_credentials() {
  kb::storage::aws_credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = kb::storage::secret_string("bench-secret-not-real");
  return c;
}

// A ranged GET of a segment object: what restore issues per frame.
void BM_sigv4_sign_request(benchmark::State& state) {
  const auto creds = bench_credentials();
  kb::storage::sigv4::request req;
  req.method = "GET";
  req.host = "127.0.0.1:7070";
  req.path = "/bench-bucket/backups/b1/topics/orders/p-00007/00000000000001234567.kbs";
  req.headers = {{"Range", "bytes=1048576-2097151"}};
  req.payload_hash = std::string(kb::storage::sigv4::empty_payload_hash);
  const kb::storage::sigv4::options opts;
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  std::size_t header_bytes = 0;
  for (auto _ : state) {
    auto sig = kb::storage::sigv4::sign(req, creds, opts, now);
    header_bytes = sig.canonical_request.size();
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * header_bytes));
}

// The body hash a signed PUT needs: one pass of SHA-256 over the part.
void BM_sigv4_payload_sha256(benchmark::State& state) {
  const auto data = kb::bench::json_payload(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(kb::storage::sigv4::sha256_hex(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

}  // namespace

BENCHMARK(BM_sigv4_sign_request);
BENCHMARK(BM_sigv4_payload_sha256)->RangeMultiplier(16)->Range(1 << 10, 16 << 20);
BENCHMARK_MAIN();
