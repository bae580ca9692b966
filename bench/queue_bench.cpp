// The pipeline's bounded MPMC queue (pipeline/queue.hpp) carrying what the worker pool carries
// (std::function tasks): one producer and one consumer, several producers into one consumer,
// and the uncontended floor. Items/s is the figure; bytes/s counts sizeof(task) per item.
#include "pipeline/queue.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

namespace {

using kb::pipeline::mpmc_queue;
using task = std::function<void()>;
constexpr std::int64_t task_bytes = sizeof(task);

// Moves `per_producer` tasks from each of `producers` threads to one consumer thread that runs
// them. Full/empty waits yield, as the pipeline's stages do; on a shared 2-core machine the
// figures therefore include scheduler hand-offs, which is what the pipeline pays too.
void run_transfer(benchmark::State& state, int producers) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  constexpr std::int64_t per_producer = 1 << 15;
  for (auto _ : state) {
    mpmc_queue<task> q(capacity);
    std::atomic<bool> go{false};
    std::uint64_t sum = 0;
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(producers));
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&q, &go, &sum] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        for (std::int64_t i = 0; i < per_producer; ++i) {
          task t = [&sum, i] { sum += static_cast<std::uint64_t>(i); };  // run by the consumer only
          while (!q.try_push(t)) std::this_thread::yield();
        }
      });
    }
    const std::int64_t total = per_producer * producers;
    go.store(true, std::memory_order_release);
    for (std::int64_t got = 0; got < total;) {
      if (auto t = q.try_pop()) {
        (*t)();
        ++got;
      } else {
        std::this_thread::yield();
      }
    }
    for (auto& t : threads) t.join();
    benchmark::DoNotOptimize(sum);
  }
  const std::int64_t items = state.iterations() * per_producer * producers;
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * task_bytes);
}

void BM_queue_spsc(benchmark::State& state) { run_transfer(state, 1); }
void BM_queue_mpsc(benchmark::State& state) { run_transfer(state, static_cast<int>(state.range(1))); }

// One push and one pop on the same thread: the cost of the queue itself, no hand-off.
void BM_queue_push_pop_same_thread(benchmark::State& state) {
  mpmc_queue<task> q(1024);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    task t = [&sum] { ++sum; };
    if (!q.try_push(t)) {
      state.SkipWithError("push into an empty queue failed");
      return;
    }
    auto got = q.try_pop();
    (*got)();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * task_bytes);
}

}  // namespace

BENCHMARK(BM_queue_spsc)->Arg(64)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_queue_mpsc)->Args({1024, 2})->Args({1024, 4})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_queue_push_pop_same_thread);

BENCHMARK_MAIN();
