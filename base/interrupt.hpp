// The process-wide interruption state: how many SIGINT/SIGTERM arrived and when, set from a
// signal handler and read by blocking calls (storage requests, broker bootstrap) that must stop.
#pragma once

#include <chrono>
#include <optional>

namespace kb::interrupt {

/// Records one interruption (async-signal-safe: atomics and clock_gettime only).
void raise(int signal_number) noexcept;

/// True once any interruption was raised.
[[nodiscard]] bool requested() noexcept;

/// Interruptions raised so far.
[[nodiscard]] int count() noexcept;

/// The signal of the first interruption (0 for one raised without a signal).
[[nodiscard]] int first_signal() noexcept;

/// How long ago the first interruption was raised; nullopt when none was.
[[nodiscard]] std::optional<std::chrono::milliseconds> elapsed() noexcept;

/// Forgets every interruption (tests, and a process that handled one and goes on).
void reset() noexcept;

/// Sleeps `delay`, waking early (false) when an interruption is raised meanwhile.
bool sleep_for(std::chrono::milliseconds delay) noexcept;

}  // namespace kb::interrupt
