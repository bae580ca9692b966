// pipeline/backup/fetcher: fetch scheduling for the backup — partitions grouped per leader into requests
// within the in-flight and memory budgets, answers appended to segments, failures backed off, offsets reset.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/backup/backup_job.hpp"
#include "pipeline/backup/partition_state.hpp"
#include "pipeline/backup/segment_uploader.hpp"
#include "pipeline/kafka_admin.hpp"
#include "pipeline/memory_budget.hpp"
#include "protocol/fetch.hpp"

namespace kb::pipeline::backup {

/// A partition may be asked for data now: active, not asked already, not resolving an offset
/// reset, past its back-off, and its uploads keep up (fewer than two sealed segments waiting).
[[nodiscard]] bool fetchable(const partition_state& ps, std::chrono::steady_clock::time_point now) noexcept;

/// The partitions of one request taken from a leader's ready `list` when `free_slots` requests
/// may still go to it: one flagged fetch_alone goes by itself, else an even share of the list.
[[nodiscard]] std::vector<net::topic_partition> take_request(std::vector<net::topic_partition>& list,
                                                             std::size_t free_slots, const partition_map& parts);

/// The back-off after `failures` failed fetches in a row: base * 2^failures (exponent capped at 8), capped at max.
[[nodiscard]] std::chrono::milliseconds failure_delay(int failures, std::chrono::milliseconds base,
                                                      std::chrono::milliseconds max) noexcept;

/// OFFSET_OUT_OF_RANGE resolved against the log's start and end.
struct reset_decision {
  enum kind { keep, gap, truncated } what = keep;
  storage::format::offset_gap deleted;  ///< gap: offsets retention removed before we got them
};
[[nodiscard]] reset_decision decide_reset(std::int64_t next_offset, std::int64_t log_start, std::int64_t log_end) noexcept;

class fetcher {
 public:
  struct options {
    run_mode mode = run_mode::one_shot;
    std::uint32_t fetch_max_bytes = 16u << 20;
    std::uint32_t max_in_flight_per_broker = 2;
    std::uint64_t poll_interval_ms = 100;
    std::uint64_t segment_max_bytes = 128ull << 20;
    std::chrono::milliseconds retry_backoff{100};
    std::chrono::milliseconds retry_backoff_max{10'000};
    std::int32_t max_response_bytes = 100 << 20;
    std::chrono::milliseconds stall_report_after{30'000};
    std::string principal_hint;
  };
  struct hooks {
    std::function<void(error)> on_error;             ///< the job stops with it
    std::function<void()> poke;                      ///< wake the main loop
    std::function<void(partition_state&)> finish;    ///< the partition reached its end offset
    std::function<void()> count_error;               ///< a retried failure (metrics)
  };

  fetcher(boost::asio::io_context& io, net::cluster& cluster, kafka_admin& admin, memory_budget& budget,
          partition_map& parts, segment_uploader& uploader, stats& totals, options o, hooks h);

  /// Sends requests for the partitions that may fetch, as far as slots and memory allow.
  void launch();
  /// Handles one partition of a fetch response; returns the bytes appended to its segment.
  std::uint64_t handle_partition(partition_state& ps, protocol::fetch_response::partition& p, bool alone);
  /// No fetch for a while with partitions still to fetch: warn saying what they wait for.
  void report_stall(std::chrono::steady_clock::time_point now);

  [[nodiscard]] int in_flight() const noexcept { return fetches_in_flight_; }
  /// A leader was missing or a broker failed: metadata should be refreshed.
  /// Applies an OFFSET_OUT_OF_RANGE answer resolved by ListOffsets to [log_start, log_end): a gap,
  /// a refusal, or — when the log still holds the position (a leader that just changed) — a
  /// back-off and a metadata refresh, so a repeating answer cannot make the fetch spin.
  void apply_reset(partition_state& ps, std::int64_t log_start, std::int64_t log_end);
  [[nodiscard]] bool metadata_stale() const noexcept { return metadata_stale_; }
  void metadata_refreshed() noexcept { metadata_stale_ = false; }

 private:
  boost::asio::awaitable<void> async_fetch(std::int32_t leader, std::vector<net::topic_partition> batch,
                                           std::uint64_t reserved);
  void note_failure(partition_state& ps, const error& e);
  void relieve_memory();
  std::int64_t record_log_start_inside(partition_state& ps, open_segment& seg, const storage::format::batch_entry& e);
  boost::asio::awaitable<void> async_reset_offset(net::topic_partition tp);

  boost::asio::io_context& io_;
  net::cluster& cluster_;
  kafka_admin& admin_;
  memory_budget& budget_;
  partition_map& parts_;
  segment_uploader& uploader_;
  stats& totals_;
  options opts_;
  hooks hooks_;
  std::map<std::int32_t, int> in_flight_;  ///< fetches per broker
  int fetches_in_flight_ = 0;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();  ///< a fetch sent or answered
  std::chrono::steady_clock::time_point last_stall_report_{};
  std::size_t rotation_ = 0;
  bool metadata_stale_ = false;
};

}  // namespace kb::pipeline::backup
