// pipeline/backup/activation: which partitions the backup works on — added as the metadata names them,
// brought from pending to active within the concurrency limit (resume state, start and end offsets).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/backup/backup_job.hpp"
#include "pipeline/backup/partition_state.hpp"
#include "pipeline/backup/resume.hpp"
#include "pipeline/kafka_admin.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// Adds the partitions of `topics` the metadata names and `parts` does not hold yet; returns how many.
std::size_t add_partitions(partition_map& parts, const net::cluster& cluster, const std::set<std::string>& topics);

/// The pending partitions to activate now: all in continuous mode, else as many as keep the
/// active ones at `max_concurrent` (at least 1). In map order. Pure.
[[nodiscard]] std::vector<partition_state*> take_pending(partition_map& parts, run_mode mode,
                                                         std::uint32_t max_concurrent);

/// Sets a partition's start (its checkpoint's, else `starts`, else 0) and end (one-shot: the end
/// offset read now; snapshot: the one captured at start, or its start for a partition born since)
/// and makes it active. Pure.
void activate_at(partition_state& ps, const offset_map& starts, const offset_map& ends,
                 const std::optional<offset_map>& snapshot_ends, run_mode mode);

/// Brings partitions from pending to active: resume state from the store (resume.hpp), then
/// the offsets the brokers give. Returns the activated partitions already at their end.
class partition_activator {
 public:
  partition_activator(storage::object_store& store, const storage::format::backup_paths& paths, const options& opts,
                      partition_map& parts)
      : store_(store), paths_(paths), opts_(opts), parts_(parts) {}

  [[nodiscard]] boost::asio::awaitable<result<std::vector<partition_state*>>> async_activate(
      kafka_admin& admin, const std::optional<offset_map>& snapshot_ends);

 private:
  /// `listing`: the partition folder's objects when the topic was listed at once, else null.
  result<void> resume(partition_state& ps, const std::vector<stored_object>* listing);
  /// Resumes from one listing per topic those of `taken`'s topics with many partitions not resumed yet.
  result<void> resume_from_topic_listings(const std::vector<partition_state*>& taken);

  storage::object_store& store_;
  const storage::format::backup_paths& paths_;
  const options& opts_;
  partition_map& parts_;
};

}  // namespace kb::pipeline::backup
