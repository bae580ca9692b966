// A backup run's error and stop state (see job_status.hpp).
#include "pipeline/backup/job_status.hpp"

#include "base/log.hpp"

namespace kb::pipeline::backup {

bool job_status::record(error e, clock::time_point now) {
  ++errors_;
  const bool first = !first_error_;
  if (first) {
    log::debug("backup: first error: {}", e.message);
    first_error_ = std::move(e);
  }
  begin_stopping(now);
  return first;
}

void job_status::begin_stopping(clock::time_point now) {
  if (stopping_) return;
  stopping_ = true;
  stop_since_ = now;
  last_stop_report_ = now;
}

std::optional<std::chrono::seconds> job_status::stop_report_due(clock::time_point now, clock::duration every) {
  if (!stopping_ || now - last_stop_report_ < every) return std::nullopt;
  last_stop_report_ = now;
  return std::chrono::duration_cast<std::chrono::seconds>(now - stop_since_);
}

}  // namespace kb::pipeline::backup
