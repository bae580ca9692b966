// Restore's readers (see reader_loop.hpp).
#include "pipeline/restore/reader_loop.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>

#include "pipeline/pool_call.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines (as in target_check.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::restore {

namespace asio = boost::asio;
using namespace std::chrono_literals;

void reader_loop::start() {
  const std::size_t n = std::max<std::size_t>(
      1, std::min<std::size_t>(c_.options.max_concurrent_partitions, c_.plan.partitions.size()));
  running_ = n;
  for (std::size_t i = 0; i < n; ++i) asio::co_spawn(c_.io, async_run(), asio::detached);
}

asio::awaitable<void> reader_loop::async_run() {
  while (!halted()) {
    const std::size_t i = next_partition_++;
    if (i >= c_.plan.partitions.size()) break;
    if (run_.state.partitions[i].done) continue;
    if (auto r = co_await async_read_partition(i); !r) {
      // Damaged data (or a storage failure) stops all reading, but what was verified and
      // queued before it still goes out: the target ends at a clean point the error reports.
      if (!error_) error_ = std::move(r.error());
      break;
    }
  }
  --running_;
  producer_.notify();
}

asio::awaitable<kb::result<void>> reader_loop::async_read_partition(std::size_t index) {
  const auto& p = c_.plan.partitions[index];
  std::int64_t next = run_.state.partitions[index].next_source_offset;
  const planned_topic* topic = nullptr;
  for (const auto& t : c_.plan.topics)
    if (t.source == p.source_topic) topic = &t;
  if (topic == nullptr) co_return fail(errc::internal, fmt::format("no planned topic for {}[{}]", p.source_topic, p.source_partition));
  std::optional<murmur2_partitioner> router;
  if (topic->repartition) {
    // The same meaning as the plan and --dry-run print: murmur2 by key, or round-robin.
    router.emplace(topic->repartition->target_partitions, topic->repartition->strategy == repartition_strategy::murmur2);
  }
  const std::size_t max_batch = max_batch_bytes(c_.plan, c_.existing, p.target_topic);
  const merge_limits merge =
      merge_limits_for(max_batch, c_.options.rate_limit_records_per_sec, c_.options.rate_limit_bytes_per_sec);
  for (const auto& seg : p.segments) {
    for (std::uint32_t f : seg.frames) {
      if (halted()) co_return kb::result<void>{};
      const auto& fe = seg.index->frames[f];
      if (fe.last_offset < next) continue;
      // The memory budget (restore_options::max_buffer_bytes) covers frames being prepared and
      // batches queued in every lane; one frame may always go ahead so a restore cannot stall.
      const std::uint64_t need = fe.raw_size;
      while (buffered_bytes() > 0 && buffered_bytes() + need > c_.options.max_buffer_bytes && !halted())
        co_await producer_.budget_waiters().wait(c_.io.get_executor(), 200ms);
      if (halted()) co_return kb::result<void>{};
      preparing_bytes_ += need;  // released below once its batches are queued (or on error)
      auto job = [this, &seg, &p, f, next, max_batch, merge]() {
        return read_frame_batches(c_.store, p, seg, f, next, c_.options.plan.window, max_batch, merge);
      };
      frame_work work = co_await async_call_on_pool(c_.pool, c_.io, std::move(job));
      // No co_await inside a conditional expression: g++ 12 destroys its temporaries twice.
      if (work.err) {
        preparing_bytes_ -= need;
        co_return fail(std::move(*work.err));
      }
      auto queued = co_await async_queue(work, router, max_batch, index);
      preparing_bytes_ -= need;
      if (!queued) co_return queued;
      next = work.next_offset;
    }
  }
  // Everything read: the partition is done once its lane has acknowledged it all.
  pending_done_.push_back({index, p.last_offset + 1});
  producer_.notify();
  co_return kb::result<void>{};
}

// Counts a rewritten frame and queues its batches on their lanes (routed when repartitioned).
asio::awaitable<kb::result<void>> reader_loop::async_queue(frame_work& work, std::optional<murmur2_partitioner>& router,
                                                           std::size_t max_batch, std::size_t index) {
  const auto& p = c_.plan.partitions[index];
  run_.summary.batches_passed += work.stats.passed;
  run_.summary.batches_reencoded += work.stats.reencoded;
  run_.summary.batches_dropped += work.stats.dropped;
  run_.summary.batches_merged += work.stats.merged_in;
  run_.summary.batches_merged_into += work.stats.merged_out;
  if (!router) {
    auto& l = producer_.lane_for(p.target_topic, p.target_partition);
    for (auto& ob : work.outputs) {
      if (auto r = co_await producer_.async_enqueue(l, std::move(ob), index); !r) co_return r;
    }
    co_return kb::result<void>{};
  }
  auto split = [&work, &router, max_batch]() { return route_batches(work.outputs, *router, max_batch); };
  auto routed = co_await async_call_on_pool(c_.pool, c_.io, std::move(split));
  if (!routed) co_return fail(std::move(routed.error()));
  for (auto& [part, batches] : *routed) {
    for (auto& ob : batches) {
      if (auto r = co_await producer_.async_enqueue(producer_.lane_for(p.target_topic, part), std::move(ob), index); !r)
        co_return r;
    }
  }
  co_return kb::result<void>{};
}

void reader_loop::settle_done() {
  for (auto it = pending_done_.begin(); it != pending_done_.end();) {
    const auto [index, end] = *it;
    if (producer_.waiting(index) > 0) {
      ++it;
      continue;
    }
    auto& s = run_.state.partitions[index];
    s.next_source_offset = std::max(s.next_source_offset, end);
    s.done = true;
    run_.dirty = true;
    it = pending_done_.erase(it);
  }
}

}  // namespace kb::pipeline::restore
