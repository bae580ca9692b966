// pipeline/backup/set_open: how a run takes its place in a backup set before it fetches — as the one
// writer (after the lease: removal of what an interrupted writer left) or as a worker of a group
// (workers.json and per-partition owner records) — and the set's description it then writes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/backup/backup_job.hpp"
#include "pipeline/backup/catalog.hpp"
#include "pipeline/backup/worker_marks.hpp"
#include "storage/format/manifest.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// workers.json as this worker renews it at `now_ms`: valid for `ttl_ms`.
[[nodiscard]] workers_marker worker_marker(const worker_scope& w, std::int64_t ttl_ms, std::int64_t now_ms);

/// A worker's claim (blocking store calls): refuses while a one-process backup holds the lease,
/// then writes workers.json and an ownership record for each partition its generation assigned.
[[nodiscard]] result<void> claim_as_worker(storage::object_store& store, const storage::format::backup_paths& paths,
                                           const worker_scope& w, std::int64_t ttl_ms, std::int64_t now_ms);

/// Removes what a writer killed mid-write left in the set (temp files, unfinished multipart
/// uploads started before `lease_taken`), never a restore's folder, and logs what went; a failure
/// is a warning. Call only while holding the lease (blocking store calls).
void remove_leftovers(storage::object_store& store, const storage::format::backup_paths& paths,
                      const std::string& backup_id, std::chrono::system_clock::time_point lease_taken);

/// backup.json (kept from the stored one; another source cluster is refused) and every followed
/// topic's topic.json; a failed topic write does not stop the others, the first is returned.
/// backup.json is written again when it notes something missing.
[[nodiscard]] boost::asio::awaitable<result<void>> async_describe_set(catalog& cat, net::cluster& cluster);

}  // namespace kb::pipeline::backup
