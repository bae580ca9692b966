// The retry policy of one storage call: exponential back-off with jitter inside a total time
// budget, honouring a server's Retry-After, counting attempts for the final message. Pure: the
// clock and the random source are injected, so the policy is tested without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace kb::storage {

struct retry_settings {
  std::chrono::milliseconds initial_backoff{200};  ///< the first delay (before jitter)
  std::chrono::milliseconds max_backoff{10'000};   ///< cap of one delay (Retry-After may exceed it)
  std::chrono::milliseconds budget{120'000};       ///< no attempt starts later than this after the first
  int max_attempts = 0;                            ///< including the first; 0: only the budget limits
};

class retry_policy {
 public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  /// Starts the budget at `now()`.
  retry_policy(retry_settings settings, clock_fn now, std::uint64_t seed);

  /// Called after a failed attempt: the delay before the next one, or nullopt when the call
  /// gives up (the attempt limit is reached, or the next attempt would start past the budget).
  /// `retry_after` is the server's Retry-After, used when longer than the computed delay.
  [[nodiscard]] std::optional<std::chrono::milliseconds> next_delay(
      std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

  /// Attempts counted so far (each next_delay call counts the attempt that just failed).
  [[nodiscard]] int attempts() const noexcept { return attempts_; }
  /// Time since the first attempt started.
  [[nodiscard]] std::chrono::milliseconds elapsed() const;

 private:
  retry_settings settings_;
  clock_fn now_;
  std::mt19937_64 rng_;
  std::chrono::steady_clock::time_point start_;
  int attempts_ = 0;
};

/// A Retry-After header value: delay-seconds ("3") or an HTTP date ("Wed, 21 Oct 2015 07:28:00
/// GMT", taken relative to `now`). nullopt when absent or unreadable.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

/// "giving up after 7 attempts over 121.3 s".
[[nodiscard]] std::string giving_up_text(int attempts, std::chrono::milliseconds elapsed);

}  // namespace kb::storage
