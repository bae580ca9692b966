// storage/filesystem_group: the filesystem's commit_group — many files written, then fsynced,
// renamed into place and their directories fsynced once each, so the journal commits once per group.
#pragma once

#include <memory>

#include "storage/object_store.hpp"

namespace kb::storage {

class filesystem_store;

/// A commit_group over `store` (which must outlive it). `sync()` runs in three passes: every
/// staged temp file is fsynced (the first fsync commits the journal for all of them; their
/// writeback was started at commit), then each is renamed into place, then every directory
/// that gained an entry (a renamed file, a created folder) is fsynced once. An object is thus
/// durable before `sync()` returns, as with a single put, at a fraction of the journal commits.
[[nodiscard]] std::unique_ptr<commit_group> make_filesystem_group(const filesystem_store& store);

}  // namespace kb::storage
