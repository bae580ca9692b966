// pipeline/backup/progress: what a running backup reports about itself — lag, the metrics snapshot, whether
// every partition is done and whether everything in flight has drained (and if not, what it waits for).
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/backup/backup_job.hpp"
#include "pipeline/backup/metrics.hpp"
#include "pipeline/backup/partition_state.hpp"
#include "pipeline/memory_budget.hpp"

namespace kb::pipeline::backup {

/// Offsets left to the end offsets (or high watermarks) of the started partitions; -1 while one
/// of them has no known end yet.
[[nodiscard]] std::int64_t total_lag(const partition_map& parts);

/// One scrape's numbers.
[[nodiscard]] metrics_snapshot snapshot_metrics(const std::string& backup_id, const stats& totals,
                                                std::uint64_t errors, const memory_budget& budget,
                                                const partition_map& parts);

/// Every partition reached its end (one-shot, snapshot; never in continuous mode).
[[nodiscard]] bool all_partitions_done(const partition_map& parts, run_mode mode);

/// Work the job waits for before it may return.
struct in_flight_counts {
  int fetches = 0;
  int uploads = 0;
  int store_calls = 0;  ///< lease renewals, empty checkpoints
};
/// Nothing left in flight; after an error, sealed segments are abandoned (never checkpointed).
[[nodiscard]] bool drained(const partition_map& parts, in_flight_counts n, bool failed);
/// What drained() still waits for, for the log when a stop takes long.
[[nodiscard]] std::string drain_blockers(const partition_map& parts, in_flight_counts n);

}  // namespace kb::pipeline::backup
