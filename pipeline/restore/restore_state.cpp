// Restore state: where it lives, atomic durable writes, strict reads, identity checks.
#include "pipeline/restore/restore_state.hpp"

#include <set>

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/uuid.hpp"
#include "storage/format/manifest.hpp"
#include "storage/local_file.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::restore {

namespace fs = std::filesystem;

fs::path default_local_state_dir(const char* xdg_state_home, const char* home) {
  if (xdg_state_home != nullptr && *xdg_state_home == '/') return fs::path(xdg_state_home) / "kafka-backup";
  if (home != nullptr && *home != '\0') return fs::path(home) / ".local" / "state" / "kafka-backup";
  return fs::path(".kafka-backup-state");
}

fs::path local_state_file(const fs::path& dir, const std::string& backup_id, const std::string& restore_id) {
  return dir / backup_id / (restore_id + ".json");
}

namespace {

state_location local(fs::path file) {
  state_location at;
  at.where = file.string();
  at.file = std::move(file);
  return at;
}

// Creates the directory and proves a file can be replaced in it, so a read-only or full
// directory is found before any topic is created.
kb::result<void> probe_local(const fs::path& file) {
  const fs::path probe = file.parent_path() / ".write-probe";
  if (auto ok = storage::write_file_atomic(probe, as_bytes("probe")); !ok) return ok;
  std::error_code ec;
  fs::remove(probe, ec);
  return {};
}

}  // namespace

kb::result<state_location> choose_state_location(storage::object_store& store, const state_choice& c) {
  if (c.checkpoint_state) {
    auto at = local(fs::path(*c.checkpoint_state));
    if (auto ok = probe_local(*at.file); !ok) {
      return fail(ok.error().code.value() == static_cast<int>(errc::authorization) ? errc::authorization : errc::io,
                  fmt::format("restore.checkpoint_state {} cannot be written ({}): choose a writable place",
                              at.where, ok.error().message));
    }
    return at;
  }
  if (c.state_dir && !c.state_dir->empty()) {
    auto at = local(local_state_file(*c.state_dir, c.backup_id, c.restore_id));
    if (auto ok = probe_local(*at.file); !ok) {
      return fail(errc::io, fmt::format("restore.state_dir {} cannot be written ({}): choose a writable directory",
                                        *c.state_dir, ok.error().message));
    }
    kb::log::info("restore {}: state kept in {}", c.restore_id, at.where);
    return at;
  }
  const std::string dir = storage::format::backup_paths{c.backup_id}.restore_dir(c.restore_id);
  const std::string probe = dir + "write-probe";
  auto put = store.put(probe, as_bytes("probe"));
  if (put) {
    (void)store.remove(probe);
    state_location at;
    at.key = dir + "state.json";
    at.where = store.describe() + at.key;
    return at;
  }
  if (!put.error().is(errc::io) && !put.error().is(errc::authorization)) return fail(std::move(put.error()));
  auto at = local(local_state_file(c.fallback_dir, c.backup_id, c.restore_id));
  if (auto ok = probe_local(*at.file); !ok) {
    return fail(errc::io, fmt::format("the backup store is not writable ({}) and neither is the local state "
                                      "directory {} ({}): set restore.state_dir to a writable directory",
                                      put.error().message, c.fallback_dir.string(), ok.error().message));
  }
  at.seed_key = dir + "state.json";
  kb::log::warn("restore {}: the backup store {} is not writable ({}): restore state is kept in {} instead (set "
                "restore.state_dir to choose the directory)",
                c.restore_id, store.describe(), put.error().message, at.where);
  return at;
}

kb::result<std::optional<restore_state>> load_restore_state(storage::object_store& store, const state_location& at) {
  kb::result<byte_vector> got = at.file ? storage::read_file(*at.file, std::size_t{1} << 30) : store.get(at.key);
  std::string where = at.where;
  if (!got && got.error().is(errc::not_found) && at.file && !at.seed_key.empty()) {
    got = store.get(at.seed_key);  // written by an earlier run while the store was writable
    where = store.describe() + at.seed_key;
  }
  if (!got) {
    if (got.error().is(errc::not_found)) return std::optional<restore_state>{};
    return fail(std::move(got.error()));
  }
  const std::string_view text = as_text(*got);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail(errc::corrupt, fmt::format("restore state {} is empty (a write was lost, or the file was "
                                           "truncated): it cannot say what was already restored; check the target "
                                           "topics, then delete {} to restore from the start",
                                           where, where));
  }
  auto parsed = parse_restore_state(text);
  if (!parsed) {
    return fail(errc::corrupt, fmt::format("restore state {} cannot be read ({}): check the target topics, then "
                                           "delete {} to restore from the start",
                                           where, parsed.error().message, where));
  }
  return std::optional<restore_state>(std::move(*parsed));
}

kb::result<void> save_restore_state(storage::object_store& store, const state_location& at, const restore_state& state) {
  const std::string text = to_json(state);
  if (at.file) {
    if (auto ok = storage::write_file_atomic(*at.file, as_bytes(text)); !ok) {
      return fail(std::move(ok.error()));
    }
    return {};
  }
  return store.put(at.key, as_bytes(text));
}

kb::result<void> write_offset_report(const fs::path& path, const restore_state& state) {
  if (auto ok = storage::write_file_atomic(path, as_bytes(to_json(state))); !ok) {
    return fail(ok.error().code.value() == static_cast<int>(errc::authorization) ? errc::authorization : errc::io,
                fmt::format("cannot write restore.offset_report: {}", ok.error().message));
  }
  return {};
}

std::string topic_id_hex(const protocol::uuid& id) {
  return uuid_hex(id.bytes);
}

std::vector<std::string> reset_stale_targets(restore_state& state,
                                             const std::map<std::string, target_topic_status>& targets) {
  std::vector<std::string> reasons;
  std::set<std::string> reported;
  for (auto& p : state.partitions) {
    const bool progress = p.done || p.target_end >= 0 || p.records > 0 || !p.map.empty();
    if (!progress) continue;
    const auto t = targets.find(p.target_topic);
    if (t == targets.end()) continue;
    std::string why;
    if (!t->second.exists) {
      why = fmt::format("target topic '{}' no longer exists (deleted since the earlier run)", p.target_topic);
    } else if (!p.target_topic_id.empty() && !t->second.topic_id.empty() && p.target_topic_id != t->second.topic_id) {
      why = fmt::format("target topic '{}' was deleted and re-created since the earlier run (topic id {}, now {})",
                        p.target_topic, p.target_topic_id, t->second.topic_id);
    }
    if (why.empty()) continue;
    if (reported.insert(p.target_topic).second) reasons.push_back(std::move(why));
    partition_state fresh;
    fresh.source_topic = p.source_topic;
    fresh.source_partition = p.source_partition;
    fresh.target_topic = p.target_topic;
    fresh.target_partition = p.target_partition;
    p = std::move(fresh);
  }
  return reasons;
}

kb::result<void> check_written_ends(const restore_state& state,
                                    const std::map<std::pair<std::string, std::int32_t>, std::int64_t>& ends,
                                    const std::string& where) {
  for (const auto& p : state.partitions) {
    if (p.target_partition < 0 || p.target_end < 0) continue;
    const auto e = ends.find({p.target_topic, p.target_partition});
    if (e == ends.end() || e->second >= p.target_end) continue;
    return fail(errc::conflict,
                fmt::format("target {}[{}] ends at offset {} but the saved restore state says {} records were written "
                            "up to offset {}: the partition lost records (truncated); check the target, then delete {} "
                            "to restore from the start",
                            p.target_topic, p.target_partition, e->second, p.records, p.target_end, where));
  }
  return {};
}

void adopt_saved_progress(restore_state& state, const restore_state& saved) {
  for (auto& s : state.partitions) {
    for (const auto& q : saved.partitions) {
      if (q.source_topic == s.source_topic && q.source_partition == s.source_partition &&
          q.target_topic == s.target_topic && q.target_partition == s.target_partition) {
        s = q;
      }
    }
  }
}

}  // namespace kb::pipeline::restore
