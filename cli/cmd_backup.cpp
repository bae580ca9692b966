// `kafka-backup backup`: maps the config (source, storage, backup options) onto a backup job,
// runs it with a progress line on a TTY, and prints the one-line summary.
#include <unistd.h>

#include <algorithm>
#include <ostream>

#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/signals.hpp"
#include "pipeline/backup/backup_job.hpp"
#include "pipeline/backup/fetch_budget.hpp"
#include "pipeline/backup/worker_backup.hpp"

namespace kb::cli {

namespace {

std::string progress_line(const pipeline::backup::stats& s) {
  const double secs = std::max(s.seconds, 0.001);
  const double rate = static_cast<double>(s.bytes_fetched) / secs;
  std::string line = fmt::format("backup: {} fetched, {} records stored, {}/s", human_bytes(static_cast<double>(s.bytes_fetched)),
                                 s.records, human_bytes(rate));
  if (s.lag >= 0) {
    line += fmt::format(", lag {} offsets", s.lag);
    const double done = static_cast<double>(s.records);
    if (done > 0 && s.lag > 0) {
      const double eta = static_cast<double>(s.lag) * secs / done;
      line += fmt::format(", ETA {:.0f}s", eta);
    }
  }
  return line;
}

}  // namespace

int run_backup(const config& cfg, const parsed_args& args, std::ostream& out, std::ostream& err,
               run_summary* summary) {
  (void)out;
  if (!cfg.source) {
    print_error(err, fmt::format("{}: the backup needs a 'source:' section (bootstrap_servers, security)", cfg.file));
    return static_cast<int>(kb::exit_code::usage);
  }
  auto source = cluster_options_from(*cfg.source, "source");
  if (!source) return report(err, source.error());

  namespace pb = pipeline::backup;
  pb::options o;
  o.cluster = std::move(*source);
  o.backup_id = cfg.backup_id;
  o.topics.include = cfg.source->topics.include;
  o.topics.exclude = cfg.source->topics.exclude;
  o.topics.include_internal = cfg.backup.include_internal_topics;
  for (const auto& t : cfg.backup.internal_topics) o.topics.include.push_back(t);
  o.codec = cfg.backup.compression;
  o.compression_level = cfg.backup.compression_level;
  o.segment_max_bytes = std::max<std::uint64_t>(cfg.backup.segment_max_bytes, 1);
  o.segment_max_interval_ms = std::max<std::uint64_t>(cfg.backup.segment_max_interval_ms, 1);
  o.fetch_max_bytes = pb::effective_fetch_max_bytes(cfg.backup.fetch_max_bytes, cfg.backup.segment_max_bytes);
  o.max_buffer_bytes = cfg.backup.max_buffer_bytes;
  switch (cfg.backup.start_offset) {
    case start_offset_policy::earliest: o.start = pb::start_position::earliest; break;
    case start_offset_policy::latest: o.start = pb::start_position::latest; break;
    case start_offset_policy::specific:  // refused by check_runnable (cli/preflight.cpp) before this runs
      print_error(err, "backup.start_offset: specific is not supported");
      return static_cast<int>(kb::exit_code::usage);
  }
  o.mode = cfg.backup.continuous                ? pb::run_mode::continuous
           : cfg.backup.stop_at_current_offsets ? pb::run_mode::snapshot
                                                : pb::run_mode::one_shot;
  o.poll_interval_ms = std::max<std::uint64_t>(cfg.backup.poll_interval_ms, 10);
  o.max_concurrent_partitions = std::max<std::uint32_t>(cfg.backup.max_concurrent_partitions, 1);
  o.consumer_group_snapshot = cfg.backup.consumer_group_snapshot;
  o.source_cluster_id = cfg.backup.source_cluster_id;
  o.tool_version = KB_VERSION;
  if (cfg.backup.segment_max_records) {
    kb::log::warn("backup.segment_max_records is not supported by this version and is ignored; segments rotate by "
                  "segment_max_bytes and segment_max_interval_ms");
  }
  if (cfg.metrics.enabled) {
    pb::metrics_options m;
    m.bind_address = cfg.metrics.bind_address;
    m.port = cfg.metrics.port;
    m.path = cfg.metrics.path;
    m.max_partition_labels = cfg.metrics.max_partition_labels;
    o.metrics = m;
    if (cfg.metrics.keep_alive_seconds > 0) {
      kb::log::warn("metrics.keep_alive_seconds is not supported by this version; the endpoint closes when the "
                    "backup ends");
    }
  }

  auto store = open_config_store(cfg.storage);
  if (!store) return report(err, store.error());

  const bool progress = !args.global.no_progress && ::isatty(STDERR_FILENO) == 1;
  pb::progress_callback on_progress;
  if (progress) {
    on_progress = [&err](const pb::stats& s) { err << '\r' << progress_line(s) << "   " << std::flush; };
  }

  // Signals are handled here, not by the job's io thread: that thread may sit in a storage call
  // that only the recorded interruption ends.
  o.handle_signals = false;
  auto result = [&]() -> kb::result<pb::stats> {
    if (cfg.workers) {
      // One worker of a group (docs/scale-out.md): only the partitions the group assigns it.
      pipeline::workers::member_config m;
      m.group_id = cfg.workers->group_id;
      m.instance_id = cfg.workers->instance_id;
      m.session_timeout = std::chrono::milliseconds(cfg.workers->session_timeout_ms);
      m.rebalance_timeout = std::chrono::milliseconds(cfg.workers->rebalance_timeout_ms);
      pb::worker_backup worker(std::move(o), std::move(m), **store);
      signal_scope signals("backup", [&worker](int) { worker.request_stop(); });
      return worker.run(std::move(on_progress));
    }
    pb::backup_job job(std::move(o), **store);
    signal_scope signals("backup", [&job](int) { job.request_stop(); });
    return job.run(std::move(on_progress));
  }();
  if (progress) err << '\n';
  if (!result) return report(err, result.error());

  const auto& s = *result;
  if (summary) {
    summary->records = s.records;
    summary->bytes = s.bytes_raw;
    summary->partitions = s.partitions;
    summary->segments = s.segments;
    summary->interrupted = s.interrupted;
  }
  const double secs = std::max(s.seconds, 0.001);
  // A one-shot or snapshot backup stopped before its end offsets is not a success (DESIGN §2);
  // a continuous one stopped by a signal has committed what it fetched and is.
  const bool partial = s.interrupted && !cfg.backup.continuous && s.partitions_complete < s.partitions;
  const char* outcome = !s.interrupted ? "complete"
                        : partial      ? "interrupted (committed what was fetched)"
                                       : "stopped (committed what was fetched)";
  err << fmt::format("backup '{}' {}: {} topics, {} partitions, {} records, {} raw / {} stored in {} segments, {:.1f} "
                     "MB/s, {:.1f} s\n",
                     cfg.backup_id, outcome, s.topics,
                     s.partitions, s.records, human_bytes(static_cast<double>(s.bytes_raw)),
                     human_bytes(static_cast<double>(s.bytes_stored)), s.segments,
                     static_cast<double>(s.bytes_raw) / 1e6 / secs, secs);
  if (partial) {
    print_error(err, fmt::format("backup '{}' interrupted: {} of {} partitions complete; re-run to continue (the "
                                 "next run resumes from the last checkpoint)",
                                 cfg.backup_id, s.partitions_complete, s.partitions));
    return static_cast<int>(kb::exit_code::runtime);
  }
  return static_cast<int>(kb::exit_code::success);
}

}  // namespace kb::cli
