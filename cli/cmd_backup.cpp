// `kafka-backup backup`: maps the config (source, storage, backup options) onto a backup job,
// runs it with a progress line on a TTY, and prints the one-line summary.
#include <unistd.h>

#include <algorithm>
#include <ostream>

#include <fmt/format.h>

#include "cli/backup_options.hpp"
#include "cli/command_support.hpp"
#include "cli/signals.hpp"
#include "pipeline/backup/backup_job.hpp"
#include "pipeline/backup/worker_backup.hpp"

namespace kb::cli {

namespace {

std::string progress_line(const pipeline::backup::stats& s) {
  const double secs = std::max(s.seconds, 0.001);
  const double rate = static_cast<double>(s.bytes_fetched) / secs;
  // A worker of a group names itself (docs/scale-out.md): several may share one terminal.
  std::string line = fmt::format("{}: {} fetched, {} records stored, {}/s",
                                 s.worker.empty() ? std::string("backup") : "backup worker " + s.worker,
                                 human_bytes(static_cast<double>(s.bytes_fetched)), s.records, human_bytes(rate));
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
  namespace pb = pipeline::backup;
  auto o = backup_job_options(cfg);
  if (!o) return report(err, o.error());

  auto store = open_config_store(cfg.storage);
  if (!store) return report(err, store.error());

  const bool progress = !args.global.no_progress && ::isatty(STDERR_FILENO) == 1;
  pb::progress_callback on_progress;
  if (progress) {
    on_progress = [&err](const pb::stats& s) { err << '\r' << progress_line(s) << "   " << std::flush; };
  }

  // Signals are handled here, not by the job's io thread: that thread may sit in a storage call
  // that only the recorded interruption ends.
  o->handle_signals = false;
  auto result = [&]() -> kb::result<pb::stats> {
    if (cfg.workers) {
      // One worker of a group (docs/scale-out.md): only the partitions the group assigns it.
      pipeline::workers::member_config m;
      m.group_id = cfg.workers->group_id;
      m.instance_id = cfg.workers->instance_id;
      m.session_timeout = std::chrono::milliseconds(cfg.workers->session_timeout_ms);
      m.rebalance_timeout = std::chrono::milliseconds(cfg.workers->rebalance_timeout_ms);
      pb::worker_backup worker(std::move(*o), std::move(m), **store);
      signal_scope signals("backup", [&worker](int) { worker.request_stop(); });
      return worker.run(std::move(on_progress));
    }
    pb::backup_job job(std::move(*o), **store);
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
  const auto outcome = describe_outcome(cfg.backup_id, s, cfg.backup.continuous);
  err << outcome.line;
  if (outcome.partial) {
    print_error(err, fmt::format("backup '{}' interrupted: {} of {} partitions complete; re-run to continue (the "
                                 "next run resumes from the last checkpoint)",
                                 cfg.backup_id, s.partitions_complete, s.partitions));
    return static_cast<int>(kb::exit_code::runtime);
  }
  return static_cast<int>(kb::exit_code::success);
}

}  // namespace kb::cli
