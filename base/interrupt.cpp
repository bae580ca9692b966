#include "base/interrupt.hpp"

#include <atomic>
#include <cstdint>
#include <thread>

#include <time.h>

namespace kb::interrupt {
namespace {

// Lock-free atomics only: raise() runs inside a signal handler.
std::atomic<int> raised{0};
std::atomic<int> first_sig{0};
std::atomic<std::int64_t> first_at_ms{0};

std::int64_t monotonic_ms() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

static_assert(std::atomic<int>::is_always_lock_free && std::atomic<std::int64_t>::is_always_lock_free);

}  // namespace

void raise(int signal_number) noexcept {
  if (raised.fetch_add(1) == 0) {
    first_sig.store(signal_number);
    first_at_ms.store(monotonic_ms());
  }
}

bool requested() noexcept { return raised.load() > 0; }

int count() noexcept { return raised.load(); }

int first_signal() noexcept { return first_sig.load(); }

std::optional<std::chrono::milliseconds> elapsed() noexcept {
  if (!requested()) return std::nullopt;
  std::int64_t at = first_at_ms.load();
  // raise() bumps the count before it stores the time; a reader in between sees 0.
  if (at == 0) at = monotonic_ms();
  return std::chrono::milliseconds(monotonic_ms() - at);
}

void reset() noexcept {
  raised.store(0);
  first_sig.store(0);
  first_at_ms.store(0);
}

bool sleep_for(std::chrono::milliseconds delay) noexcept {
  // Slices short enough that a signal is answered at once, long enough to cost nothing.
  const auto end = std::chrono::steady_clock::now() + delay;
  while (true) {
    if (requested()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(end - now, std::chrono::milliseconds(50)));
  }
}

}  // namespace kb::interrupt
