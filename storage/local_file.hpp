// Durable local files: the POSIX pieces the filesystem store is built from (fsync of files and
// directories, mkdir -p, temp names) and one atomic whole-file write that other local state
// (restore checkpoints, offset reports) uses too.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>
#include <utility>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::storage {

/// Temp files carry this marker; object keys may not, and listings skip such files.
inline constexpr std::string_view temp_marker = ".kb-tmp.";

/// An owned file descriptor (closed on destruction).
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  void reset() noexcept;
  /// Closes and reports the close error (which can carry a deferred write error).
  int close_checked() noexcept;

 private:
  int fd_ = -1;
};

/// An error for errno `err` while doing `action` on `path`, with the fix where one is known
/// (disk full, permissions, read-only mount).
[[nodiscard]] kb::error os_error(int err, std::string_view action, const std::filesystem::path& path);

/// fsync of a directory, so the entries created or renamed in it are durable.
[[nodiscard]] result<void> fsync_dir(const std::filesystem::path& dir);

/// mkdir -p, fsyncing the parent of every directory it creates so the new entries are durable
/// before a file inside them is.
[[nodiscard]] result<void> make_dirs(const std::filesystem::path& dir);
/// The same, handing each created folder's parent to `created` instead of fsyncing it at once
/// (a commit group syncs each parent once for many files).
[[nodiscard]] result<void> make_dirs(const std::filesystem::path& dir,
                                     const std::function<result<void>(const std::filesystem::path&)>& created);

/// write(2) until all of `data` is written (EINTR retried).
[[nodiscard]] result<void> write_all(int fd, byte_view data, const std::filesystem::path& path);

/// A fresh temp name next to `final_path` (same directory, so a rename is atomic).
[[nodiscard]] std::filesystem::path temp_path_for(const std::filesystem::path& final_path);

/// Replaces `path` with `data` atomically and durably: temp file, fsync, rename, fsync of the
/// directory (created if missing). After a crash the file holds the old or the new content.
[[nodiscard]] result<void> write_file_atomic(const std::filesystem::path& path, byte_view data);

/// The whole content of a regular file; errc::not_found when it does not exist, errc::io for a
/// file larger than `max_bytes` or not a regular file.
[[nodiscard]] result<byte_vector> read_file(const std::filesystem::path& path,
                                            std::size_t max_bytes = std::size_t{256} << 20);

}  // namespace kb::storage
