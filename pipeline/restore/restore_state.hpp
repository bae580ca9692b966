// Where a restore keeps its state and how that state is read, written and checked: a local file
// (restore.checkpoint_state), a local directory (restore.state_dir, or a default one when the
// backup store is read-only) or restores/{id}/state.json in the backup store; written atomically
// and durably; checked against the identity of the target topics before it is trusted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "pipeline/restore/offset_map.hpp"
#include "protocol/wire.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::restore {

/// Where the state of one restore lives: a local file, or `key` in the backup store.
struct state_location {
  std::optional<std::filesystem::path> file;
  std::string key;
  std::string where;  ///< for messages: the file path, or the store and key
  /// A local fallback for a read-only store: while `file` does not exist yet, the state an
  /// earlier run left at this key in the store is where this run starts from.
  std::string seed_key;
};

/// The local directory used when the backup store is read-only and restore.state_dir is unset:
/// $XDG_STATE_HOME/kafka-backup, else $HOME/.local/state/kafka-backup (arguments: the
/// environment values, null when unset).
[[nodiscard]] std::filesystem::path default_local_state_dir(const char* xdg_state_home, const char* home);

/// The state file of one restore under a local state directory: DIR/BACKUP_ID/RESTORE_ID.json.
[[nodiscard]] std::filesystem::path local_state_file(const std::filesystem::path& dir, const std::string& backup_id,
                                                     const std::string& restore_id);

struct state_choice {
  std::optional<std::string> checkpoint_state;  ///< restore.checkpoint_state: this file
  std::optional<std::string> state_dir;         ///< restore.state_dir: under this directory
  std::string backup_id;
  std::string restore_id;
  std::filesystem::path fallback_dir;  ///< when the store is not writable (default_local_state_dir)
};

/// Picks where the state goes and proves it writable before anything is created: the file or
/// directory configured, else the backup store when a probe object can be written there, else
/// `fallback_dir` (logged at warn with the reason). Errors name the place and the fix.
[[nodiscard]] kb::result<state_location> choose_state_location(storage::object_store& store, const state_choice& c);

/// The saved state, nullopt when there is none. An empty or unparsable state is errc::corrupt
/// naming the file (never taken as a fresh start: that would restore everything twice).
[[nodiscard]] kb::result<std::optional<restore_state>> load_restore_state(storage::object_store& store,
                                                                        const state_location& at);

/// Replaces the saved state atomically (local: temp file, fsync, rename, fsync of the directory).
[[nodiscard]] kb::result<void> save_restore_state(storage::object_store& store, const state_location& at,
                                                  const restore_state& state);

/// restore.offset_report: the state as JSON, written atomically and durably.
[[nodiscard]] kb::result<void> write_offset_report(const std::filesystem::path& path, const restore_state& state);

/// A topic id as 32 hex digits; empty for the all-zero id (none known).
[[nodiscard]] std::string topic_id_hex(const protocol::uuid& id);

/// Takes over the progress `saved` recorded for each partition of `state` with the same source
/// and target (topic and partition); other partitions stay fresh, saved ones not planned now are
/// dropped.
void adopt_saved_progress(restore_state& state, const restore_state& saved);

/// What the target cluster holds now under a target topic name.
struct target_topic_status {
  bool exists = false;
  std::string topic_id;  ///< hex; empty when unknown (no topic ids from the broker)
};

/// Resets (to a fresh start) every partition of `state` whose target topic is no longer the one
/// the saved state wrote into: the topic is gone (deleted, about to be created again) or has
/// another topic id (deleted and re-created). Returns one reason per reset target topic, for a
/// warning. Partitions without progress or of topics not in `targets` are left alone.
[[nodiscard]] std::vector<std::string> reset_stale_targets(restore_state& state,
                                                           const std::map<std::string, target_topic_status>& targets);

/// Checks the end offsets of finished partitions against the state: a target partition that now
/// ends below what the state says was written lost records (errc::conflict, naming the partition,
/// both offsets and `where` to delete to start over). `ends` is keyed by (topic, partition).
[[nodiscard]] kb::result<void> check_written_ends(const restore_state& state,
                                                  const std::map<std::pair<std::string, std::int32_t>, std::int64_t>& ends,
                                                  const std::string& where);

}  // namespace kb::pipeline::restore
