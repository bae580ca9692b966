// Retention for a backup location (`kafka-backup prune`): which whole backup ids a policy
// {keep_last, max_age_days} deletes, and the deletion itself under the backup's lease.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::retention {

struct prune_policy {
  /// A floor: the newest `keep_last` readable backups are never deleted, whatever their age.
  std::uint32_t keep_last = 0;
  /// Only backups last written more than this many days ago are deleted; none: age is no criterion.
  std::optional<std::uint32_t> max_age_days;
  bool dry_run = false;  ///< decide and report, delete nothing
};

/// Checks a policy before anything is touched: keep_last 0 without max_age_days would delete
/// every backup, so it is refused (errc::invalid_argument).
[[nodiscard]] kb::result<void> check_policy(const prune_policy& policy);

/// What prune knows about one backup id before deciding.
struct prune_candidate {
  std::string backup_id;
  std::int64_t created_ms = -1;
  std::int64_t last_written_ms = -1;  ///< the newest of backup.json's created_ms and updated_ms; -1: unreadable
  std::uint64_t size_bytes = 0;
  std::uint64_t objects = 0;
  std::string problem;  ///< why backup.json could not be read ("" if it could)
  std::string lease_owner;  ///< an unexpired lease's owner (a backup is writing it); "" when none
  std::int64_t lease_expires_ms = 0;
};

enum class prune_verdict { keep, remove };

struct prune_decision {
  prune_candidate backup;
  prune_verdict verdict = prune_verdict::keep;
  std::string reason;  ///< why: "one of the newest 3", "lease held by ...", "older than 30 days", ...
  bool deleted = false;  ///< removed (never in a dry run)
  std::optional<kb::error> failure;  ///< why the removal failed (the backup is then kept, maybe in part)
};

/// The pure decision, newest first: a backup is removed when it is not among the newest
/// `keep_last` readable backups, is older than max_age_days (when set), holds no live lease and
/// has a readable backup.json.
[[nodiscard]] std::vector<prune_decision> plan_prune(std::vector<prune_candidate> backups,
                                                     const prune_policy& policy, std::int64_t now_ms);

struct prune_report {
  bool dry_run = false;
  std::vector<prune_decision> decisions;  ///< newest first
  [[nodiscard]] std::uint64_t removed_count() const noexcept;  ///< deleted, or would be (dry run)
  [[nodiscard]] std::uint64_t removed_bytes() const noexcept;
  [[nodiscard]] std::uint64_t failed_count() const noexcept;
};

/// Lists the location, plans, and (unless dry_run) deletes each chosen backup id whole: it takes
/// the backup's lease first (so no backup starts writing it meanwhile; a lease taken since the
/// listing keeps the backup), removes the data, then backup.json, then the lease. A removal
/// that fails is recorded in its decision and the others go on; only a location that cannot
/// be listed fails the call. `owner` names this run in the lease (host:pid:random).
[[nodiscard]] kb::result<prune_report> prune(storage::object_store& store, const prune_policy& policy,
                                             std::int64_t now_ms, const std::string& owner);

/// One line per backup ("deleted", "would delete", "kept" with the reason), then a total.
[[nodiscard]] std::string prune_text(const prune_report& r, std::string_view where);
/// {"dry_run", "deleted": [...], "kept": [...], "failed": [...], "totals": {...}}.
[[nodiscard]] std::string prune_json(const prune_report& r, std::string_view where);

}  // namespace kb::pipeline::retention
