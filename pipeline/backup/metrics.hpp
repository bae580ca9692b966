// Prometheus text exposition of a running backup (records, bytes, segments, errors, lag per
// partition) and the options of the endpoint that serves it (Boost.Beast, in backup_job).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kb::pipeline::backup {

struct metrics_options {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 9464;
  std::string path = "/metrics";
  std::uint32_t max_partition_labels = 100;  ///< 0: unlimited; the rest is summed unlabelled
};

/// What one scrape shows. Filled on the engine's thread.
struct metrics_snapshot {
  std::string backup_id;
  std::uint64_t records = 0;
  std::uint64_t batches = 0;
  std::uint64_t bytes_fetched = 0;
  std::uint64_t bytes_raw = 0;
  std::uint64_t bytes_stored = 0;
  std::uint64_t segments = 0;
  std::uint64_t gaps = 0;
  std::uint64_t errors = 0;
  std::uint64_t memory_used = 0;
  std::uint64_t memory_limit = 0;
  struct partition_lag {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t lag = 0;
  };
  std::vector<partition_lag> lags;
};

/// The text format (version 0.0.4). Label values are escaped; never holds a secret.
[[nodiscard]] std::string render_metrics(const metrics_snapshot& m, std::uint32_t max_partition_labels);

}  // namespace kb::pipeline::backup
