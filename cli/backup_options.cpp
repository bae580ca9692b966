// The config -> backup job options mapping and the run's outcome line (see backup_options.hpp).
#include "cli/backup_options.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/log.hpp"
#include "cli/command_support.hpp"
#include "pipeline/backup/fetch_budget.hpp"

namespace kb::cli {

namespace pb = pipeline::backup;

namespace {

/// `backup.start_offset` and the run mode; specific offsets are refused by check_runnable
/// (cli/preflight.cpp) before this runs, and here too.
kb::result<void> set_positions(const backup_config& b, pb::options& o) {
  switch (b.start_offset) {
    case start_offset_policy::earliest: o.start = pb::start_position::earliest; break;
    case start_offset_policy::latest: o.start = pb::start_position::latest; break;
    case start_offset_policy::specific: return fail(errc::config, "backup.start_offset: specific is not supported");
  }
  o.mode = b.continuous ? pb::run_mode::continuous
           : b.stop_at_current_offsets ? pb::run_mode::snapshot
                                       : pb::run_mode::one_shot;
  return {};
}

void set_metrics(const metrics_config& mc, pb::options& o) {
  if (!mc.enabled) return;
  pb::metrics_options m;
  m.bind_address = mc.bind_address;
  m.port = mc.port;
  m.path = mc.path;
  m.max_partition_labels = mc.max_partition_labels;
  o.metrics = m;
  if (mc.keep_alive_seconds > 0) {
    kb::log::warn("metrics.keep_alive_seconds is not supported by this version; the endpoint closes when the "
                  "backup ends");
  }
}

}  // namespace

kb::result<pb::options> backup_job_options(const config& cfg) {
  if (!cfg.source) {
    return fail(errc::config,
                fmt::format("{}: the backup needs a 'source:' section (bootstrap_servers, security)", cfg.file));
  }
  auto source = cluster_options_from(*cfg.source, "source");
  if (!source) return fail(std::move(source.error()));
  const auto& b = cfg.backup;
  pb::options o;
  o.cluster = std::move(*source);
  o.backup_id = cfg.backup_id;
  o.topics.include = cfg.source->topics.include;
  o.topics.exclude = cfg.source->topics.exclude;
  o.topics.include_internal = b.include_internal_topics;
  for (const auto& t : b.internal_topics) o.topics.include.push_back(t);
  o.codec = b.compression;
  o.compression_level = b.compression_level;
  o.segment_max_bytes = std::max<std::uint64_t>(b.segment_max_bytes, 1);
  o.segment_max_interval_ms = std::max<std::uint64_t>(b.segment_max_interval_ms, 1);
  o.fetch_max_bytes = pb::effective_fetch_max_bytes(b.fetch_max_bytes, b.segment_max_bytes);
  o.max_buffer_bytes = b.max_buffer_bytes;
  if (auto r = set_positions(b, o); !r) return fail(std::move(r.error()));
  o.poll_interval_ms = std::max<std::uint64_t>(b.poll_interval_ms, 10);
  o.max_concurrent_partitions = std::max<std::uint32_t>(b.max_concurrent_partitions, 1);
  o.consumer_group_snapshot = b.consumer_group_snapshot;
  o.source_cluster_id = b.source_cluster_id;
  o.tool_version = KB_VERSION;
  if (b.segment_max_records) {
    kb::log::warn("backup.segment_max_records is not supported by this version and is ignored; segments rotate by "
                  "segment_max_bytes and segment_max_interval_ms");
  }
  set_metrics(cfg.metrics, o);
  return o;
}

backup_outcome describe_outcome(const std::string& backup_id, const pb::stats& s, bool continuous) {
  const double secs = std::max(s.seconds, 0.001);
  // A continuous backup stopped by a signal has committed what it fetched and is a success.
  const bool partial = s.interrupted && !continuous && s.partitions_complete < s.partitions;
  const char* outcome = !s.interrupted ? "complete"
                        : partial      ? "interrupted (committed what was fetched)"
                                       : "stopped (committed what was fetched)";
  return {fmt::format("backup '{}' {}: {} topics, {} partitions, {} records, {} raw / {} stored in {} segments, "
                      "{:.1f} MB/s, {:.1f} s\n",
                      backup_id, outcome, s.topics, s.partitions, s.records,
                      human_bytes(static_cast<double>(s.bytes_raw)), human_bytes(static_cast<double>(s.bytes_stored)),
                      s.segments, static_cast<double>(s.bytes_raw) / 1e6 / secs, secs),
          partial};
}

}  // namespace kb::cli
