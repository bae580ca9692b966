// The backup engine: metadata -> topic selection -> per-partition fetch (many partitions per
// request per broker) -> segments (frames compressed on a worker pool) -> upload -> checkpoint,
// under one memory budget and one lease. One-shot, snapshot and continuous modes; resumable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/backup/metrics.hpp"
#include "pipeline/backup/topic_selection.hpp"
#include "storage/format/segment.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

enum class run_mode {
  one_shot,    ///< each partition up to the high watermark seen when it is reached
  snapshot,    ///< every partition up to the end offsets captured once at start
  continuous,  ///< no end; new topics and partitions discovered while running
};
enum class start_position { earliest, latest };

[[nodiscard]] std::string_view to_string(run_mode m) noexcept;

/// Worker mode (issue #17, docs/scale-out.md): the job backs up only the partitions one group
/// generation gave this worker; no exclusive lease (workers.json and owner records instead).
struct worker_scope {
  std::string group_id;
  std::string member_id;
  std::string instance_id;  ///< KIP-345, "" for a dynamic member (recorded in the owner records)
  std::int32_t generation = -1;
  bool leader = false;  ///< only the leader writes backup.json and topic.json
  std::set<net::topic_partition> partitions;
};

struct options {
  net::cluster_options cluster;
  std::string backup_id;
  topic_filter topics;
  storage::format::frame_codec codec = storage::format::frame_codec::zstd;
  int compression_level = 3;
  std::uint64_t segment_max_bytes = 128ull << 20;
  std::uint64_t segment_max_interval_ms = 60'000;
  std::uint32_t fetch_max_bytes = 16u << 20;
  std::uint64_t max_buffer_bytes = 96ull << 20;
  start_position start = start_position::earliest;
  run_mode mode = run_mode::one_shot;
  std::uint64_t poll_interval_ms = 100;       ///< continuous: the broker's max wait per fetch
  std::uint32_t max_concurrent_partitions = 8; ///< partitions worked on at once (one-shot, snapshot)
  bool consumer_group_snapshot = false;
  std::string tool_version = "unknown";
  std::optional<std::string> source_cluster_id;  ///< overrides the broker-reported id
  std::int64_t lease_ttl_ms = 60'000;
  std::size_t compression_threads = 0;  ///< 0: the number of cores
  std::size_t upload_threads = 4;
  std::uint32_t max_in_flight_per_broker = 2;
  bool handle_signals = true;  ///< SIGINT/SIGTERM: seal and commit what is in flight, exit ok
  std::chrono::milliseconds progress_interval{500};
  std::optional<metrics_options> metrics;  ///< serve Prometheus text while running
  /// Continuous: how often all metadata is reloaded to find new topics and partitions.
  std::chrono::milliseconds discovery_interval{30'000};
  /// No fetch for this long while partitions are still to be fetched: warn (again each period)
  /// saying what the fetcher waits for (memory, uploads, back-off, an offset reset, a leader).
  std::chrono::milliseconds stall_report_after{30'000};
  std::optional<worker_scope> worker;  ///< absent: one process holding the backup's lease
};

/// Totals of one run (what the final summary line prints).
struct stats {
  std::uint64_t topics = 0;
  std::uint64_t partitions = 0;
  std::uint64_t records = 0;  ///< non-control records stored in this run
  std::uint64_t batches = 0;
  std::uint64_t bytes_raw = 0;
  std::uint64_t bytes_stored = 0;
  std::uint64_t segments = 0;
  std::uint64_t gaps = 0;
  std::uint64_t bytes_fetched = 0;  ///< fetched so far (progress; may run ahead of stored)
  std::int64_t lag = -1;            ///< offsets left to the end offsets, -1 when unknown
  double seconds = 0;
  bool interrupted = false;  ///< stopped by a signal or request_stop()
  std::uint64_t partitions_complete = 0;  ///< one-shot, snapshot: partitions that reached their end offset
  std::string worker;  ///< progress of a worker of a group: its member id ("" for one process)
};

using progress_callback = std::function<void(const stats&)>;

/// Crash safety (DESIGN.md §5, invariants 1, 2, 5): per partition one segment is uploaded at a
/// time and its checkpoint.json is written only after the upload is durable. On start, segments
/// found after the checkpoint (a crash between upload and checkpoint) are ADOPTED when their
/// name continues the checkpoint's next offset and their index verifies — the checkpoint then
/// moves past them; any other segment past the checkpoint is removed. So no offset is lost and
/// none is stored twice. A lease left by a dead process on the same host is taken over at once;
/// one held elsewhere blocks until it expires (lease_ttl_ms).
class backup_job {
 public:
  backup_job(options opts, storage::object_store& store);
  ~backup_job();
  backup_job(const backup_job&) = delete;
  backup_job& operator=(const backup_job&) = delete;

  /// Runs to the end (or until stopped). Errors keep the codes of their cause:
  /// errc::authorization/tls/sasl/connect (exit 3), errc::conflict for a held lease, ...
  [[nodiscard]] result<stats> run(progress_callback on_progress = {});

  /// Asks a running job to seal and commit what it holds and return. Thread-safe.
  void request_stop() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kb::pipeline::backup
