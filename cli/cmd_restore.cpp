// `kafka-backup restore`: maps the config (target, storage, restore options) onto a restore job,
// runs it (or only plans it with --dry-run), and prints the summary.
#include <atomic>
#include <cstdio>
#include <ostream>

#include <unistd.h>

#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "cli/signals.hpp"
#include "pipeline/restore/restore.hpp"
#include "pipeline/restore/worker_restore.hpp"

namespace kb::cli {

namespace {

std::atomic<bool> restore_stop{false};

/// The restore job's options from the config and the command line.
pipeline::restore::restore_options restore_options_from(const config& cfg, const parsed_args& args,
                                                        net::cluster_options target) {
  pipeline::restore::restore_options o;
  o.target = std::move(target);
  auto& p = o.plan;
  p.backup_id = cfg.backup_id;
  p.include = cfg.target->topics.include;
  p.exclude = cfg.target->topics.exclude;
  p.topic_mapping = cfg.restore.topic_mapping;
  p.source_partitions = cfg.restore.source_partitions;
  p.partition_mapping = cfg.restore.partition_mapping;
  p.repartitioning = cfg.restore.repartitioning;
  p.window.start = cfg.restore.time_window_start;
  p.window.end = cfg.restore.time_window_end;
  p.consumer_groups = cfg.restore.consumer_groups;
  p.auto_consumer_groups = cfg.restore.auto_consumer_groups;
  p.allow_gaps = cfg.restore.allow_gaps;
  o.create_topics = cfg.restore.create_topics;
  o.replication_factor = cfg.restore.default_replication_factor;
  // OSO: auto_consumer_groups implies reset_consumer_offsets.
  o.reset_consumer_offsets = cfg.restore.reset_consumer_offsets || cfg.restore.auto_consumer_groups;
  o.dry_run = args.dry_run || cfg.restore.dry_run;
  o.acks = cfg.restore.produce_acks;
  o.produce_timeout_ms = static_cast<std::int32_t>(cfg.restore.produce_timeout_ms);
  o.max_concurrent_partitions = std::max<std::uint32_t>(cfg.restore.max_concurrent_partitions, 1);
  o.checkpoint_state = cfg.restore.checkpoint_state;
  o.offset_report = cfg.restore.offset_report;
  o.state_dir = cfg.restore.state_dir;
  if (cfg.metrics.enabled) {
    pipeline::restore::metrics_endpoint m;
    m.bind_address = cfg.metrics.bind_address;
    m.port = cfg.metrics.port;
    m.path = cfg.metrics.path;
    o.metrics = m;
  }
  o.rate_limit_records_per_sec = cfg.restore.rate_limit_records_per_sec.value_or(0);
  o.rate_limit_bytes_per_sec = cfg.restore.rate_limit_bytes_per_sec.value_or(0);

  return o;
}

/// The summary of a finished restore, or the plan of a dry run.
void print_summary(std::ostream& out, const pipeline::restore::restore_summary& s, bool reset_consumer_offsets) {
  for (const auto& w : s.warnings) kb::log::warn("{}", w);
  if (s.dry_run) {
    out << s.plan_text;
    out << "Target checks passed (topics, partition counts, permissions"
        << (reset_consumer_offsets ? ", consumer groups idle" : "") << ")\n";
    for (const auto& t : s.created_topics) out << "Would create topic " << t << "\n";
    out << fmt::format("Dry run: nothing was written (restore id would be {})\n", s.restore_id);
    return;
  }
  for (const auto& t : s.topics) {
    out << fmt::format("  {} -> {}: {} records, {}\n", t.source, t.target, t.records,
                       human_bytes(static_cast<double>(t.bytes)));
  }
  for (const auto& h : s.holes) out << "  hole: " << h << "\n";
  for (const auto& g : s.groups) {
    out << fmt::format("  group {}: offsets committed for {} partition{}\n", g.group, g.partitions_committed,
                       g.partitions_committed == 1 ? "" : "s");
    for (const auto& n : g.notes) out << "    " << n << "\n";
  }
  const double mbps = s.seconds > 0 ? static_cast<double>(s.bytes) / 1e6 / s.seconds : 0.0;
  out << fmt::format("Restore {} complete: {} records, {} in {:.1f} s ({:.1f} MB/s); batches passed {}, re-encoded "
                     "{}, dropped {};{} {} topics created, {} groups committed{}{}\n",
                     s.restore_id, s.records, human_bytes(static_cast<double>(s.bytes)), s.seconds, mbps,
                     s.batches_passed, s.batches_reencoded, s.batches_dropped,
                     s.batches_merged ? fmt::format(" {} small batches merged into {};", s.batches_merged,
                                                    s.batches_merged_into)
                                      : std::string(),
                     s.created_topics.size(), s.groups.size(),
                     s.records_skipped_on_resume
                         ? fmt::format("; resumed, {} records found already written", s.records_skipped_on_resume)
                         : std::string(),
                     s.holes.empty() ? std::string()
                                     : fmt::format("; {} hole{} in the backup skipped (restore.allow_gaps)", s.holes.size(),
                                                   s.holes.size() == 1 ? "" : "s"));
}

}  // namespace

int run_restore(const config& cfg, const parsed_args& args, std::ostream& out, std::ostream& err,
                run_summary* run) {
  if (!cfg.target) {
    print_error(err, fmt::format("{}: the restore needs a 'target:' section (bootstrap_servers, security)", cfg.file));
    return static_cast<int>(kb::exit_code::usage);
  }
  auto target = cluster_options_from(*cfg.target, "target");
  if (!target) return report(err, target.error());

  auto o = restore_options_from(cfg, args, std::move(*target));
  const bool progress = !args.global.no_progress && ::isatty(STDERR_FILENO) == 1 && !o.dry_run;
  if (progress) {
    o.on_progress = [&err](std::uint64_t records, std::uint64_t bytes, std::uint64_t total) {
      err << fmt::format("\rrestoring: {} records, {} of ~{}   ", records, human_bytes(static_cast<double>(bytes)),
                         human_bytes(static_cast<double>(total)))
          << std::flush;
    };
  }
  restore_stop.store(false);
  o.stop = &restore_stop;

  auto store = open_config_store(cfg.storage);
  if (!store) return report(err, store.error());
  auto summary = [&]() -> kb::result<pipeline::restore::restore_summary> {
    if (cfg.workers && !o.dry_run) {
      // One worker of a group (docs/scale-out.md): only the partitions the group assigns it.
      pipeline::workers::member_config m;
      m.group_id = cfg.workers->group_id;
      m.instance_id = cfg.workers->instance_id;
      m.session_timeout = std::chrono::milliseconds(cfg.workers->session_timeout_ms);
      m.rebalance_timeout = std::chrono::milliseconds(cfg.workers->rebalance_timeout_ms);
      pipeline::restore::worker_restore worker(o, std::move(m), **store);
      signal_scope signals("restore", [&worker](int) { worker.request_stop(); });
      return worker.run();
    }
    signal_scope signals("restore", [](int) { restore_stop.store(true); });
    return pipeline::restore::run_restore(**store, o);
  }();
  if (progress) err << "\n";
  if (!summary) return report(err, summary.error());

  const auto& s = *summary;
  if (run) {
    run->restore_id = s.restore_id;
    run->records = s.records;
    run->bytes = s.bytes;
    run->partitions = s.partitions;
  }
  print_summary(out, s, o.reset_consumer_offsets);
  return 0;
}

}  // namespace kb::cli
