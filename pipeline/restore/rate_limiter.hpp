// Produce pacing (`restore.rate_limit_*`): records and bytes per second averaged from the first
// send, with at most one second's worth sent ahead. Pure: the caller passes the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace kb::pipeline::restore {

class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  /// 0 is no limit.
  rate_limiter(std::uint64_t records_per_sec, std::uint64_t bytes_per_sec) noexcept
      : records_per_sec_(records_per_sec), bytes_per_sec_(bytes_per_sec) {}

  /// Whether one more batch keeps the totals sent within rate x elapsed plus one second's burst.
  /// The first batch always goes, however large, so a batch above the limit still goes out.
  [[nodiscard]] bool admits(std::uint64_t records, std::uint64_t bytes, clock::time_point now);
  /// A batch was sent.
  void sent(std::uint64_t records, std::uint64_t bytes) noexcept {
    records_ += records;
    bytes_ += bytes;
  }

 private:
  std::uint64_t records_per_sec_;
  std::uint64_t bytes_per_sec_;
  std::optional<clock::time_point> since_;  ///< the first admission under a limit
  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace kb::pipeline::restore
