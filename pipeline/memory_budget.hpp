// The one memory budget of a pipeline (`backup.max_buffer_bytes`): bytes are acquired before
// data is fetched and released when the data is durable, so memory stays bounded whatever the
// partition count.
#pragma once

#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace kb::pipeline {

/// Lock-free counter of bytes in use against a fixed limit. Thread-safe.
class memory_budget {
 public:
  explicit memory_budget(std::uint64_t limit_bytes) noexcept : limit_(limit_bytes) {}
  memory_budget(const memory_budget&) = delete;
  memory_budget& operator=(const memory_budget&) = delete;

  /// Takes `bytes` if they fit under the limit; false (and nothing taken) otherwise.
  [[nodiscard]] bool try_acquire(std::uint64_t bytes) noexcept {
    std::uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
    return true;
  }
  /// Takes `bytes` even past the limit: a broker may return one batch larger than asked
  /// (KIP-74), and progress must not stop on it. The overshoot blocks later try_acquire calls.
  void force_acquire(std::uint64_t bytes) noexcept { used_.fetch_add(bytes, std::memory_order_acq_rel); }
  void release(std::uint64_t bytes) noexcept { used_.fetch_sub(bytes, std::memory_order_acq_rel); }

  [[nodiscard]] std::uint64_t used() const noexcept { return used_.load(std::memory_order_acquire); }
  [[nodiscard]] std::uint64_t limit() const noexcept { return limit_; }
  [[nodiscard]] std::uint64_t available() const noexcept {
    const std::uint64_t u = used();
    return u >= limit_ ? 0 : limit_ - u;
  }

 private:
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0};
};

/// Makes bytes released to the budget count as released memory too. glibc gives every thread
/// that allocates its own arena and keeps what it frees there: with frames and segments built on
/// the io thread and freed on pool threads the RSS settled at the budget plus ~90 MiB more
/// (measured: 217 MiB for a 64 MiB budget, 125 MiB with one arena). Frame-sized allocations are
/// few, so one arena costs no contention. Process-wide, applied once, before the pools start.
inline void share_one_allocator_arena() noexcept {
  static std::once_flag once;
  std::call_once(once, [] { ::mallopt(M_ARENA_MAX, 1); });
}

/// Hands whole free pages back to the kernel; call after large buffers were freed.
inline void return_free_memory() noexcept { ::malloc_trim(0); }

}  // namespace kb::pipeline
