// The object store interface every backend implements (filesystem, S3): whole-object put/get,
// range reads, head, sorted listing, removal and a streaming writer for large objects.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "storage/byte_pieces.hpp"

namespace kb::storage {

/// What `head` returns about one object.
struct object_meta {
  std::uint64_t size = 0;
  std::string etag;  ///< S3 ETag without quotes; empty for the filesystem
};

/// One entry of a listing. `key` is relative to the store's prefix.
struct object_info {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;

  friend bool operator==(const object_info&, const object_info&) = default;
};

/// What `cleanup_stale` removed.
struct stale_cleanup {
  std::vector<std::string> removed;  ///< keys (temp files, multipart uploads), relative to the store
  std::uint64_t bytes = 0;           ///< their size where known (temp files)
};

struct list_options {
  /// Only keys strictly greater than this one (byte order), e.g. to resume after a checkpoint.
  std::string start_after;
};

/// A streaming writer for one object. Nothing is visible under the key until `commit`
/// succeeds; `abort` (or destroying an uncommitted writer) discards everything written.
/// One writer is used by one thread at a time.
class object_writer {
 public:
  object_writer() = default;
  object_writer(const object_writer&) = delete;
  object_writer& operator=(const object_writer&) = delete;
  virtual ~object_writer() = default;

  /// Appends bytes. May block while earlier parts are uploaded (bounded memory).
  virtual result<void> write(byte_view chunk) = 0;
  /// Makes the object visible, atomically, with everything written so far.
  virtual result<void> commit() = 0;
  /// Discards the object; safe to call more than once and after a failed commit.
  virtual void abort() noexcept = 0;
  /// Bytes accepted by `write` so far.
  [[nodiscard]] virtual std::uint64_t bytes_written() const noexcept = 0;
};

class object_store;

/// Objects written through one group become visible and durable together at `sync()`, so a store
/// can do its durability work once per group instead of once per object (the filesystem: one
/// fsync per directory, the journal committed once for all files). Before `sync()` returns,
/// nothing written through the group is visible; after it returns, all of it is, each object
/// atomically. Destroying a group discards what was not synced. One thread at a time.
class commit_group {
 public:
  commit_group() = default;
  commit_group(const commit_group&) = delete;
  commit_group& operator=(const commit_group&) = delete;
  virtual ~commit_group() = default;

  /// Like object_store::put, visible and durable at the next `sync()`.
  virtual result<void> put(std::string_view key, byte_view data) = 0;
  /// Like object_store::put of pieces, visible and durable at the next `sync()`. The default
  /// writes them one by one through open_writer.
  virtual result<void> put(std::string_view key, byte_pieces pieces);
  /// Like object_store::open_writer; the writer's commit stages the object for the next `sync()`.
  virtual result<std::unique_ptr<object_writer>> open_writer(std::string_view key) = 0;
  /// Makes everything staged since the last sync visible and durable. On an error the group is
  /// empty again and each staged object may or may not be visible, as after a failed put.
  virtual result<void> sync() = 0;
};

/// A flat namespace of objects under one location (a directory, or a bucket plus prefix).
/// Keys are '/'-separated and relative to the store's prefix; they never start with '/',
/// never contain empty, "." or ".." segments. All methods are synchronous and thread-safe.
///
/// Errors: errc::not_found (no such object), errc::authorization (403: credentials, policy),
/// errc::connect (endpoint unreachable), errc::timeout, errc::tls, errc::conflict
/// (`put_if_absent` on an existing key), errc::invalid_argument (bad key, range past the end),
/// errc::io (everything else). Messages name the object and the fix, never a secret.
class object_store {
 public:
  object_store() = default;
  object_store(const object_store&) = delete;
  object_store& operator=(const object_store&) = delete;
  virtual ~object_store() = default;

  /// Stores `data` under `key`, replacing any previous object. Visible only when complete.
  virtual result<void> put(std::string_view key, byte_view data) = 0;
  /// Stores the concatenation of `pieces` (a segment's header, frames, index) exactly as `put`
  /// of the joined bytes would, without joining them: each backend sends or writes the pieces
  /// from where they lie. The pieces outlive the call. The default joins them (test stores).
  virtual result<void> put(std::string_view key, byte_pieces pieces);
  /// Like `put`, but fails with errc::conflict when the key already exists (a lease, a marker).
  virtual result<void> put_if_absent(std::string_view key, byte_view data) = 0;
  /// The whole object.
  virtual result<byte_vector> get(std::string_view key) = 0;
  /// Bytes [offset, offset + length), cut short at the end of the object. An offset at or
  /// past the end (with length > 0) is errc::invalid_argument; length 0 returns nothing.
  virtual result<byte_vector> get_range(std::string_view key, std::uint64_t offset,
                                        std::uint64_t length) = 0;
  virtual result<object_meta> head(std::string_view key) = 0;
  /// Every object whose key starts with `prefix` (a plain string prefix, "" for all), in
  /// lexicographic byte order, pagination handled inside.
  result<std::vector<object_info>> list(std::string_view prefix, const list_options& options = {}) {
    return do_list(prefix, options);
  }
  /// The immediate "sub-folders" below `prefix` (which is "" or ends in '/'), each returned
  /// as the full relative key prefix ending in '/', sorted. E.g. the backup ids under a root.
  virtual result<std::vector<std::string>> list_prefixes(std::string_view prefix) = 0;
  /// Removes the object; removing a key that does not exist succeeds.
  virtual result<void> remove(std::string_view key) = 0;
  /// A streaming writer for a large object (multipart upload on S3).
  virtual result<std::unique_ptr<object_writer>> open_writer(std::string_view key) = 0;
  /// A group that batches durability work over many objects (see commit_group). The default
  /// passes every call straight to the store (each object durable on return; sync does nothing).
  [[nodiscard]] virtual std::unique_ptr<commit_group> open_commit_group();
  /// True when a commit_group saves work over single puts (the filesystem); callers may then
  /// gather many objects into one group instead of writing them in parallel.
  [[nodiscard]] virtual bool groups_commits() const noexcept { return false; }
  /// Removes what a writer killed mid-write (kill -9, power loss) left under `prefix`: the
  /// filesystem's temp files, S3's unfinished multipart uploads. Only leftovers started before
  /// `before` are touched, and nothing under a `keep` prefix. Call it only while holding the
  /// lease that makes the caller the one writer of `prefix`. The default does nothing.
  virtual result<stale_cleanup> cleanup_stale(std::string_view prefix,
                                              std::chrono::system_clock::time_point before,
                                              const std::vector<std::string>& keep) {
    (void)prefix;
    (void)before;
    (void)keep;
    return stale_cleanup{};
  }
  /// Where this store points, for messages: "/var/backups/prod/" or "s3://bucket/prod/".
  [[nodiscard]] virtual std::string describe() const = 0;

 protected:
  virtual result<std::vector<object_info>> do_list(std::string_view prefix,
                                                   const list_options& options) = 0;
};

/// Checks a key against the rules above; the message names the key and what is wrong.
result<void> validate_key(std::string_view key);
/// Checks a listing prefix: like a key, but may be empty and may end in '/'.
result<void> validate_prefix(std::string_view prefix);

}  // namespace kb::storage
