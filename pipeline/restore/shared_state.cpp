// The per-partition restore state of workers (see shared_state.hpp).
#include "pipeline/restore/shared_state.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/bytes.hpp"
#include "base/log.hpp"
#include "pipeline/restore/plan.hpp"
#include "storage/format/manifest.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::restore {

namespace {

/// `ours` would move the stored state of the same target topic back (fewer records written, or
/// not done where it is done).
bool is_behind(const partition_state& ours, const partition_state& stored) {
  if (ours.target_topic_id.empty() || ours.target_topic_id != stored.target_topic_id) return false;
  return stored.target_end > ours.target_end || stored.next_source_offset > ours.next_source_offset ||
         (stored.done && !ours.done);
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

// The same backup, target cluster, selection and window give the same id, so a re-run resumes
// and the workers of one group share it.
std::string derive_restore_id(const restore_plan& plan, const std::string& cluster_id, const time_window& window) {
  std::string key = plan.backup.backup_id + "|" + cluster_id + "|";
  for (const auto& p : plan.partitions) {
    key += fmt::format("{}:{}>{}:{};", p.source_topic, p.source_partition, p.target_topic, p.target_partition);
  }
  key += fmt::format("|{}|{}", window.start.value_or(-1), window.end.value_or(-1));
  return fmt::format("r-{:016x}", fnv1a(key));
}

std::string shared_state_key(const std::string& backup_id, const std::string& restore_id, const source_key& partition) {
  return fmt::format("{}partitions/{}/{}.json", storage::format::backup_paths{backup_id}.restore_dir(restore_id),
                     partition.first, partition.second);
}

kb::result<void> check_plan_for_workers(const restore_plan& plan) {
  std::map<std::pair<std::string, std::int32_t>, source_key> writer;
  for (const auto& p : plan.partitions) {
    if (p.target_partition < 0) {
      return fail(errc::config,
                  fmt::format("restore.repartitioning of '{}' cannot run with workers: one source partition is spread "
                              "over several target partitions, so another worker could not tell what a partition's "
                              "last owner wrote; remove workers: (one process) or restore.repartitioning",
                              p.source_topic));
    }
    const auto [it, fresh] = writer.emplace(std::make_pair(p.target_topic, p.target_partition),
                                            source_key{p.source_topic, p.source_partition});
    if (!fresh) {
      return fail(errc::config,
                  fmt::format("{}[{}] and {}[{}] are both restored into {}[{}]: with workers each target partition "
                              "needs a single source partition (a new owner resumes from the target's end offset); "
                              "change restore.partition_mapping / topic_mapping or remove workers:",
                              it->second.first, it->second.second, p.source_topic, p.source_partition, p.target_topic,
                              p.target_partition));
    }
  }
  return {};
}

std::vector<source_key> restrict_plan(restore_plan& plan, const worker_subset& subset) {
  std::vector<source_key> all;
  all.reserve(plan.partitions.size());
  for (const auto& p : plan.partitions) all.emplace_back(p.source_topic, p.source_partition);
  std::erase_if(plan.partitions, [&](const planned_partition& p) {
    return !subset.partitions.contains(source_key{p.source_topic, p.source_partition});
  });
  return all;
}

shared_state::shared_state(storage::object_store& store, std::string backup_id, std::string restore_id)
    : store_(store), backup_id_(std::move(backup_id)), restore_id_(std::move(restore_id)) {}

std::string shared_state::where() const {
  return store_.describe() + storage::format::backup_paths{backup_id_}.restore_dir(restore_id_) + "partitions/";
}

kb::result<void> shared_state::check_writable() {
  // Kept, not removed: removing it would remove the folder while it is empty, under another
  // worker's first write into it (the filesystem store prunes empty folders).
  const std::string probe = storage::format::backup_paths{backup_id_}.restore_dir(restore_id_) + "workers-probe";
  if (auto put = store_.put(probe, as_bytes("written by the workers of this restore to prove the store writable")); !put) {
    if (!put.error().is(errc::io) && !put.error().is(errc::authorization)) return fail(std::move(put.error()));
    return fail(errc::config,
                fmt::format("a restore with workers keeps its state in the backup store so that any worker can "
                            "resume any partition, but {} cannot be written ({}): give the workers write access "
                            "to it, or remove workers: to restore with one process",
                            store_.describe(), put.error().message));
  }
  return {};
}

kb::result<std::optional<restore_state>> shared_state::load(const std::vector<source_key>& partitions) {
  restore_state out;
  out.restore_id = restore_id_;
  out.backup_id = backup_id_;
  bool any = false;
  for (const auto& key : partitions) {
    const std::string name = shared_state_key(backup_id_, restore_id_, key);
    auto got = store_.get(name);
    if (!got) {
      if (got.error().is(errc::not_found)) continue;
      return fail(std::move(got.error()));
    }
    auto parsed = parse_restore_state(as_text(*got));
    if (!parsed || parsed->partitions.size() != 1 || parsed->partitions[0].source_topic != key.first ||
        parsed->partitions[0].source_partition != key.second) {
      return fail(errc::corrupt,
                  fmt::format("restore state {}{} cannot be read ({}): check the target partition, then delete it "
                              "to restore that partition from the start",
                              store_.describe(), name,
                              parsed ? std::string("it does not hold exactly this partition") : parsed.error().message));
    }
    written_[key] = std::string(as_text(*got));
    out.partitions.push_back(std::move(parsed->partitions[0]));
    any = true;
  }
  if (!any) return std::optional<restore_state>{};
  return std::optional<restore_state>(std::move(out));
}

kb::result<std::optional<restore_state>> shared_state::open(const restore_plan& plan) {
  if (auto ok = check_writable(); !ok) return fail(std::move(ok.error()));
  std::vector<source_key> mine;
  for (const auto& p : plan.partitions) mine.emplace_back(p.source_topic, p.source_partition);
  return load(mine);
}

kb::result<std::optional<restore_state>> shared_state::load_if_all_done(const std::vector<source_key>& partitions) {
  auto st = load(partitions);
  if (!st || !*st || every_partition_done(**st, partitions)) return st;
  return std::optional<restore_state>{};
}

kb::result<void> shared_state::save(const restore_state& state) {
  for (const auto& p : state.partitions) {
    restore_state one;
    one.restore_id = restore_id_;
    one.backup_id = backup_id_;
    one.partitions.push_back(p);
    const source_key key{p.source_topic, p.source_partition};
    std::string text = to_json(one);
    auto& last = written_[key];
    if (last == text) continue;
    const std::string name = shared_state_key(backup_id_, restore_id_, key);
    if (auto stored = store_.get(name); stored) {
      // A worker whose session expired (frozen, then running again) must not move back the state
      // of a partition its new owner has taken further: one extra read per write, workers only.
      auto parsed = parse_restore_state(as_text(*stored));
      if (parsed && parsed->partitions.size() == 1 && is_behind(p, parsed->partitions[0])) {
        kb::log::warn("restore {}: the state of {}[{}] is not moved back (another worker wrote it further: target "
                      "end {}, ours {}); this worker lost the partition",
                      restore_id_, p.source_topic, p.source_partition, parsed->partitions[0].target_end, p.target_end);
        last = std::string(as_text(*stored));
        continue;
      }
    }
    if (auto r = store_.put(name, as_bytes(text)); !r) return r;
    last = std::move(text);
  }
  return {};
}

bool every_partition_done(const restore_state& state, const std::vector<source_key>& partitions) {
  return std::all_of(partitions.begin(), partitions.end(), [&](const source_key& k) {
    return std::any_of(state.partitions.begin(), state.partitions.end(), [&](const partition_state& p) {
      return p.source_topic == k.first && p.source_partition == k.second && p.done;
    });
  });
}

}  // namespace kb::pipeline::restore
