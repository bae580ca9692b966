// A bounded lock-free multi-producer multi-consumer queue (Vyukov's sequenced ring) used to
// join pipeline stages; with one producer and one consumer it is the SPSC case at no extra cost.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace kb::pipeline {

/// Fixed capacity (rounded up to a power of two), never allocates after construction.
/// try_push/try_pop never block: a full or empty queue returns false/nullopt and the caller
/// decides whether to wait (the stages sleep on a semaphore, never on a lock in the queue).
template <class T>
class mpmc_queue {
  // try_pop moves the value out of its cell after claiming it: a throwing move would lose it.
  static_assert(std::is_nothrow_move_constructible_v<T>, "mpmc_queue needs a nothrow move-constructible T");

 public:
  explicit mpmc_queue(std::size_t capacity)
      : mask_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity) - 1),
        cells_(std::make_unique<cell[]>(mask_ + 1)) {
    for (std::size_t i = 0; i <= mask_; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }
  mpmc_queue(const mpmc_queue&) = delete;
  mpmc_queue& operator=(const mpmc_queue&) = delete;
  ~mpmc_queue() {
    while (try_pop()) {
    }
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  /// False when full; `value` is left untouched then.
  [[nodiscard]] bool try_push(T& value) {
    std::size_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells_[pos & mask_];
      const std::size_t seq = c.sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          ::new (static_cast<void*>(c.storage)) T(std::move(value));
          c.sequence.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // the consumer has not freed this cell yet: full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }
  [[nodiscard]] bool try_push(T&& value) { return try_push(value); }

  [[nodiscard]] std::optional<T> try_pop() {
    std::size_t pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells_[pos & mask_];
      const std::size_t seq = c.sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          T* item = std::launder(reinterpret_cast<T*>(c.storage));
          std::optional<T> out(std::move(*item));
          item->~T();
          c.sequence.store(pos + mask_ + 1, std::memory_order_release);
          return out;
        }
      } else if (diff < 0) {
        return std::nullopt;  // nothing published at this position yet: empty
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  /// A snapshot; exact only when no other thread is pushing or popping.
  [[nodiscard]] std::size_t size_approx() const noexcept {
    const std::size_t t = tail_.load(std::memory_order_acquire);
    const std::size_t h = head_.load(std::memory_order_acquire);
    return t >= h ? t - h : 0;
  }

 private:
  struct cell {
    std::atomic<std::size_t> sequence{0};
    alignas(T) std::byte storage[sizeof(T)];
  };
  // Head and tail on separate cache lines: producers and consumers do not false-share.
  static constexpr std::size_t line = 64;
  const std::size_t mask_;
  std::unique_ptr<cell[]> cells_;
  alignas(line) std::atomic<std::size_t> tail_{0};
  alignas(line) std::atomic<std::size_t> head_{0};
};

}  // namespace kb::pipeline
