// pipeline/backup/worker_backup: a backup run by a group of kafka-backup processes (issue #17) —
// joins the group, runs the backup engine on each generation's partitions, seals and commits them
// on revocation, leaves when done.
#pragma once

#include <memory>

#include "base/error.hpp"
#include "pipeline/backup/backup_job.hpp"
#include "pipeline/workers/group_member.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// One worker. Continuous mode runs until request_stop() (then it seals, commits and leaves the
/// group). One-shot and snapshot: the worker leaves and returns once the partitions of its current
/// assignment reached their end offsets; a leaving worker's partitions move to the others, so the
/// last worker to leave has completed every partition.
class worker_backup {
 public:
  worker_backup(options job_opts, workers::member_config member, storage::object_store& store);
  ~worker_backup();
  worker_backup(const worker_backup&) = delete;
  worker_backup& operator=(const worker_backup&) = delete;

  /// Totals over every generation this worker ran (partitions: the last assignment's).
  [[nodiscard]] result<stats> run(progress_callback on_progress = {});
  /// Seal and commit what the current generation holds, leave the group, return. Thread-safe.
  void request_stop() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kb::pipeline::backup
