// The read-only side of a backup location: list the backup sets, describe one (offsets, counts,
// sizes, gaps from checkpoints and segment index footers) and validate it, shallow or deep.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "storage/format/manifest.hpp"
#include "storage/location.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::inspect {

/// Parses a storage URL (or plain path) and opens it for reading; a filesystem location that
/// does not exist is errc::not_found (a typo must not look like an empty location).
[[nodiscard]] kb::result<std::unique_ptr<storage::object_store>> open_location(std::string_view url,
                                                                                const storage::env_lookup& env);

// ---- list ------------------------------------------------------------------------------------

struct backup_listing {
  std::string backup_id;
  std::int64_t created_ms = -1;  ///< -1 when backup.json is unreadable
  std::int64_t updated_ms = -1;  ///< backup.json's updated_ms (the last run that wrote it)
  std::vector<std::string> topics;
  std::uint64_t size_bytes = 0;  ///< every object under the backup id
  std::uint64_t objects = 0;
  std::string problem;  ///< why backup.json could not be read, "" if it could
};

/// Every backup id under the store's root, sorted.
[[nodiscard]] kb::result<std::vector<backup_listing>> list_backups(storage::object_store& store);
[[nodiscard]] std::string list_text(const std::vector<backup_listing>& backups, std::string_view where);
[[nodiscard]] std::string list_json(const std::vector<backup_listing>& backups);

// ---- describe --------------------------------------------------------------------------------

/// Which worker wrote a range of one partition (a term of its owner record).
struct owner_summary {
  std::string group_id;
  std::string member_id;
  std::string instance_id;         ///< "" for a dynamic member
  std::int32_t generation = -1;
  std::int64_t assigned_ms = 0;
  std::int64_t first_offset = -1;  ///< the checkpoint when the term began (-1: none yet)
  std::int64_t next_offset = -1;   ///< the checkpoint when it ended (-1: running, or lost its session)
  std::int64_t ended_ms = 0;
  std::uint64_t segments = 0;      ///< stored segments whose first offset lies in the term's range
};

struct partition_summary {
  std::int32_t partition = 0;
  std::int64_t first_offset = -1;  ///< of the stored batches; -1 when none
  std::int64_t last_offset = -1;
  std::uint64_t records = 0;  ///< control records excluded
  std::uint64_t batches = 0;
  std::uint64_t bytes_raw = 0;     ///< batch bytes as fetched
  std::uint64_t bytes_stored = 0;  ///< segment object sizes
  std::int64_t min_timestamp = -1;
  std::int64_t max_timestamp = -1;
  std::uint64_t segments = 0;
  std::vector<storage::format::offset_gap> gaps;  ///< from the indexes and the checkpoint, merged
  std::int64_t next_offset = -1;  ///< from checkpoint.json, -1 without one
  /// A backup run by workers (docs/scale-out.md): each worker's term on the partition from
  /// owners/<topic>/<partition>.json, oldest first; empty for a single-process backup.
  std::vector<owner_summary> owners;
};

struct topic_summary {
  std::string name;
  std::int32_t partition_count = 0;
  bool followed = true;  ///< false: the latest backup run's source.topics no longer selects it
  std::vector<partition_summary> partitions;
};

struct backup_description {
  storage::format::backup_manifest manifest;
  std::vector<topic_summary> topics;
  std::uint64_t records = 0;
  std::uint64_t bytes_raw = 0;
  std::uint64_t bytes_stored = 0;
  std::uint64_t segments = 0;
  std::uint64_t gaps = 0;
};

/// Reads backup.json, topic.json, the checkpoints and every segment's index footer (ranged
/// reads only). A missing backup id is errc::not_found listing the ids that exist.
[[nodiscard]] kb::result<backup_description> describe_backup(storage::object_store& store, std::string_view backup_id);
[[nodiscard]] std::string describe_text(const backup_description& d);
/// The JSON of DESIGN.md §2 (docs/describe-json.md).
[[nodiscard]] std::string describe_json(const backup_description& d);

// ---- validate --------------------------------------------------------------------------------

struct finding {
  std::string key;      ///< the object concerned (relative to the store's root)
  std::string problem;  ///< what is wrong
};

struct validate_options {
  bool deep = false;  ///< read every segment whole: checksums, decompression, batch CRCs, offsets
};

struct validation {
  std::vector<finding> problems;
  std::uint64_t segments = 0;  ///< segments checked
  std::uint64_t batches = 0;   ///< batches checked (index entries; deep: split and CRC-checked)
  [[nodiscard]] bool ok() const noexcept { return problems.empty(); }
};

/// Checks everything it can and lists every problem; fails only when the backup id does not
/// exist (errc::not_found) or the store cannot be listed at all.
[[nodiscard]] kb::result<validation> validate_backup(storage::object_store& store, std::string_view backup_id,
                                                     const validate_options& options);
/// One line per problem, then "N segments, N batches checked: OK" or "...: N problems".
[[nodiscard]] std::string validation_text(const validation& v);

}  // namespace kb::pipeline::inspect
