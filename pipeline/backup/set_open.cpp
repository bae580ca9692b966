// Taking a place in a backup set: the one writer's leftovers, a worker's claim, the set's
// description (see set_open.hpp).
#include "pipeline/backup/set_open.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::backup {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

workers_marker worker_marker(const worker_scope& w, std::int64_t ttl_ms, std::int64_t now_ms) {
  return workers_marker{w.group_id, w.member_id, w.generation, now_ms, now_ms + ttl_ms};
}

result<void> claim_as_worker(storage::object_store& store, const storage::format::backup_paths& paths,
                             const worker_scope& w, std::int64_t ttl_ms, std::int64_t now_ms) {
  if (auto held = refuse_if_lease_held(store, paths, now_ms); !held) return held;
  if (auto m = store.put(workers_marker_key(paths), as_bytes(to_json(worker_marker(w, ttl_ms, now_ms)))); !m) return m;
  for (const auto& tp : w.partitions) {
    partition_owner o{w.group_id, w.member_id, w.generation, now_ms, w.instance_id};
    if (auto p = record_owner_start(store, paths, tp, std::move(o)); !p) return p;
  }
  return {};
}

void remove_leftovers(storage::object_store& store, const storage::format::backup_paths& paths,
                      const std::string& backup_id, std::chrono::system_clock::time_point lease_taken) {
  auto c = store.cleanup_stale(paths.root(), lease_taken, {paths.root() + "restores/"});
  if (!c) {
    log::warn("backup '{}': could not remove what an interrupted run left in {}: {}", backup_id, store.describe(),
              c.error().message);
  } else if (!c->removed.empty()) {
    log::info("backup '{}': removed {} leftover(s) of an interrupted run ({} bytes of temp files): {}", backup_id,
              c->removed.size(), c->bytes, fmt::join(c->removed, ", "));
  }
}

boost::asio::awaitable<result<void>> async_describe_set(catalog& cat, net::cluster& cluster) {
  if (auto r = cat.open(cluster.cluster_id(), now_ms()); !r) co_return r;
  bool warned = false;
  std::optional<error> first_error;
  for (const auto& name : cat.topics()) {
    auto r = co_await cat.async_write_topic(cluster, name, warned);
    if (!r && !first_error) first_error = std::move(r.error());
  }
  if (first_error) co_return fail(std::move(*first_error));
  if (!cat.manifest().notes.empty()) {
    if (auto r = cat.write(now_ms()); !r) co_return r;  // record what is missing
  }
  co_return result<void>{};
}

}  // namespace kb::pipeline::backup
