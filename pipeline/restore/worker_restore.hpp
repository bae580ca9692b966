// pipeline/restore/worker_restore: a restore run by a group of kafka-backup processes (issue #17
// item 3) — joins the group, restores each generation's source partitions with the ordinary
// engine and its own idempotent producer, stops and checkpoints them on revocation, commits the
// consumer groups once every partition is done, then leaves.
#pragma once

#include <memory>

#include "base/error.hpp"
#include "pipeline/restore/restore.hpp"
#include "pipeline/workers/group_member.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::restore {

/// One worker. It returns once every partition of the plan is done (by whichever worker) and it
/// has committed the groups and left; a worker whose own partitions are done stays in the group
/// (so that it can take over a dead worker's partitions) until then. errc::cancelled after
/// request_stop(); errc::config for plans workers cannot split (check_plan_for_workers).
class worker_restore {
 public:
  worker_restore(restore_options options, workers::member_config member, storage::object_store& store);
  ~worker_restore();
  worker_restore(const worker_restore&) = delete;
  worker_restore& operator=(const worker_restore&) = delete;

  /// This worker's totals over every generation; restore_id, groups and warnings of the last run.
  [[nodiscard]] kb::result<restore_summary> run();
  /// Stop the current generation (its state is saved), leave the group, return. Thread-safe.
  void request_stop() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kb::pipeline::restore
