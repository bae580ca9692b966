// pipeline/backup/lease: the one-writer lease of a backup id — owner names, taking it (over a dead
// local holder at once), renewal timing and outcome, release.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "storage/format/manifest.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// "host:pid:UUID" (a random Boost.UUID): unique per run, and says where the holder runs.
[[nodiscard]] std::string make_lease_owner();

/// The host and pid an owner name gives; nullopt for a name not of that shape.
struct owner_process {
  std::string host;
  pid_t pid = 0;
};
[[nodiscard]] std::optional<owner_process> parse_lease_owner(std::string_view owner);

/// A lease left by a process on this host that no longer exists (kill -9) can be taken over
/// at once instead of waiting for it to expire. Never true for our own process.
[[nodiscard]] bool holder_is_dead_local(const std::string& owner);

/// What a renewal's answer means for the run.
enum class renewal_outcome {
  renewed,  ///< ours for another ttl
  lost,     ///< someone else holds it now: stop (errc::conflict)
  retry,    ///< the store failed: warn, try again at the next renewal
};
[[nodiscard]] renewal_outcome classify_renewal(const result<storage::format::lease>& r) noexcept;

/// Holds the lease of one backup id. Its store calls block: the job runs them on its upload
/// pool, and keeps the timing (renewal_due/renewing) and the outcome on its io thread.
class lease_keeper {
 public:
  using steady = std::chrono::steady_clock;
  lease_keeper(storage::object_store& store, const storage::format::backup_paths& paths, std::string backup_id,
               std::int64_t ttl_ms)
      : store_(store), paths_(paths), backup_id_(std::move(backup_id)), ttl_ms_(ttl_ms) {}

  /// Takes the lease; a held one is taken over only when its holder is a dead process on this
  /// host, else errc::conflict naming the holder. Blocking.
  [[nodiscard]] result<void> take(std::int64_t now_ms);

  [[nodiscard]] bool held() const noexcept { return lease_.has_value(); }
  [[nodiscard]] const std::optional<storage::format::lease>& current() const noexcept { return lease_; }

  /// Renewal every third of the ttl; renewing() notes that one was sent.
  [[nodiscard]] bool renewal_due(steady::time_point now) const noexcept;
  void renewing(steady::time_point now) noexcept { last_renew_ = now; }

  /// The blocking renewal of `ours` (run it on a pool).
  [[nodiscard]] result<storage::format::lease> renew(const storage::format::lease& ours, std::int64_t now_ms) const;
  /// Takes a renewal's answer; the lease is replaced when renewed.
  renewal_outcome renewed(result<storage::format::lease> r);

  /// Removes the lease if it is still ours (warns otherwise). Blocking.
  void release();

 private:
  storage::object_store& store_;
  storage::format::backup_paths paths_;
  std::string backup_id_;
  std::int64_t ttl_ms_;
  std::optional<storage::format::lease> lease_;
  steady::time_point last_renew_ = steady::now();
};

}  // namespace kb::pipeline::backup
