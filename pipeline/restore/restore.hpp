// The restore engine: plan -> download frames -> rewrite batches -> produce with an idempotent
// producer -> record the exact offset map -> translate and commit consumer-group offsets.
// Resumable: per-partition state under restores/{restore_id}/ (or a local state directory/file).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/restore/group_commit.hpp"
#include "pipeline/restore/plan.hpp"
#include "pipeline/restore/shared_state.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::restore {

/// The Prometheus endpoint of a running restore (`metrics:` section).
struct metrics_endpoint {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 9464;  ///< 0: any free port (logged)
  std::string path = "/metrics";
};

struct restore_options {
  plan_options plan;
  std::optional<metrics_endpoint> metrics;
  net::cluster_options target;
  bool create_topics = true;
  std::optional<std::int16_t> replication_factor;  ///< for created topics; absent: broker default
  bool reset_consumer_offsets = false;
  bool dry_run = false;
  std::int16_t acks = -1;
  std::int32_t produce_timeout_ms = 30000;
  std::uint32_t max_concurrent_partitions = 8;
  std::optional<std::string> checkpoint_state;  ///< local state file instead of restores/{id}/state.json
  std::optional<std::string> offset_report;     ///< local copy of the offset map (JSON)
  /// restore.state_dir: local directory for the state; absent: the backup store when writable,
  /// else $XDG_STATE_HOME/kafka-backup (or ~/.local/state/kafka-backup), named in the log.
  std::optional<std::string> state_dir;
  std::string restore_id;                       ///< empty: derived from backup, target and selection
  std::size_t max_request_bytes = 8u << 20;
  int max_in_flight_per_partition = 5;          ///< the broker remembers 5 batches per producer
  std::size_t lane_buffer_bytes = 32u << 20;    ///< prepared bytes waiting per target partition
  /// How long the end of a run waits for produce requests still in flight (absent: the
  /// connection's request timeout plus 10 s, so each request ends by itself first). Requests
  /// still unanswered then make the run fail, naming how many.
  std::optional<std::chrono::milliseconds> in_flight_drain;
  /// All frames being prepared plus all batches waiting in every lane stay below this, whatever
  /// the partition count (one frame may exceed it so that progress never stops).
  std::uint64_t max_buffer_bytes = 128ull << 20;
  /// Produce pacing (`restore.rate_limit_*`): 0 is no limit. Averaged from the first send, with
  /// at most one second's worth sent ahead.
  std::uint64_t rate_limit_records_per_sec = 0;
  std::uint64_t rate_limit_bytes_per_sec = 0;
  /// Called on the engine thread about every 500 ms and at the end.
  std::function<void(std::uint64_t records, std::uint64_t bytes, std::uint64_t total_bytes)> on_progress;
  const std::atomic<bool>* stop = nullptr;      ///< set from a signal handler: stop cleanly
  /// A worker of a group (docs/scale-out.md): restore only these partitions, keep the state per
  /// partition in the store, and commit the groups only once every partition of the plan is done.
  std::optional<worker_subset> worker;
};

struct topic_summary {
  std::string source;
  std::string target;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
};

struct restore_summary {
  std::string restore_id;
  bool dry_run = false;
  std::string plan_text;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t batches_passed = 0;
  std::uint64_t batches_reencoded = 0;
  std::uint64_t batches_dropped = 0;
  std::uint64_t batches_merged = 0;       ///< small stored batches merged with neighbours...
  std::uint64_t batches_merged_into = 0;  ///< ...into this many produce batches
  std::uint64_t records_skipped_on_resume = 0;
  std::uint64_t partitions = 0;  ///< source partitions in the plan
  double seconds = 0;
  std::vector<topic_summary> topics;
  std::vector<group_summary> groups;
  std::vector<std::string> created_topics;
  std::vector<std::string> warnings;
  std::vector<std::string> holes;  ///< offsets missing from the backup, skipped (allow_gaps)
  /// Worker mode: every partition of the plan is done (this run then committed the groups).
  bool group_done = true;
};

/// Counters a scrape shows (Prometheus text format 0.0.4).
struct restore_metrics {
  std::string restore_id;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t batches_passed = 0;
  std::uint64_t batches_reencoded = 0;
  std::uint64_t batches_dropped = 0;
  std::uint64_t batches_merged = 0;
  std::uint64_t produce_retries = 0;
  std::uint64_t requests_in_flight = 0;
  std::uint64_t partitions_total = 0;
  std::uint64_t partitions_done = 0;
  std::uint64_t planned_bytes = 0;
};
[[nodiscard]] std::string render_metrics(const restore_metrics& m);

/// Runs one restore to the end (or to the first error). Errors keep their errc (exit codes per
/// DESIGN.md §2): authorization before anything is written, corrupt data, broker failures.
[[nodiscard]] kb::result<restore_summary> run_restore(storage::object_store& store, const restore_options& options);
/// The same with a plan built already (build_plan with options.plan).
[[nodiscard]] kb::result<restore_summary> run_restore(storage::object_store& store, const restore_options& options,
                                                      restore_plan plan);

}  // namespace kb::pipeline::restore
