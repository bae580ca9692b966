// pipeline/backup/job_status: a backup run's error and stop state — the first error kept (every one
// counted), stopping begun once for a stop request or an error alike, and when "still stopping" is due.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "base/error.hpp"

namespace kb::pipeline::backup {

/// Used on the io thread only. Pure (the clock is passed in).
class job_status {
 public:
  using clock = std::chrono::steady_clock;

  /// Counts the error and keeps it when it is the first; stopping begins. True for the first.
  bool record(error e, clock::time_point now);
  /// Counts an error that was handled (a retried fetch) without stopping.
  void count_error() noexcept { ++errors_; }
  /// The first call fixes when stopping began (issue #12 item 1: an error once left the start at
  /// the clock's epoch); later calls change nothing.
  void begin_stopping(clock::time_point now);
  /// While stopping and `every` after the last report (or the start): how long stopping has
  /// taken, and the next report counts from `now`. Otherwise nullopt.
  [[nodiscard]] std::optional<std::chrono::seconds> stop_report_due(clock::time_point now, clock::duration every);

  [[nodiscard]] bool stopping() const noexcept { return stopping_; }
  [[nodiscard]] const std::optional<error>& first_error() const noexcept { return first_error_; }
  [[nodiscard]] std::uint64_t errors() const noexcept { return errors_; }

 private:
  bool stopping_ = false;
  clock::time_point stop_since_{};
  clock::time_point last_stop_report_{};
  std::optional<error> first_error_;
  std::uint64_t errors_ = 0;
};

}  // namespace kb::pipeline::backup
