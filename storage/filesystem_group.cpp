// storage/filesystem_group: commit_group for the filesystem store (batched fsync, rename, directory sync).
#include "storage/filesystem_group.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "storage/filesystem_store.hpp"
#include "storage/local_file.hpp"

namespace kb::storage {
namespace fs = std::filesystem;
namespace {

/// As in filesystem_store: writeback is started every 8 MiB so the disk works while we do.
constexpr std::size_t writeback_chunk = 8u << 20;
/// Folder descriptors a group keeps open at most (file descriptors are a limited resource).
constexpr std::size_t max_dir_fds = 80;  // a full group's folders and their parents

/// A written temp file waiting for the group's sync.
struct staged_file {
  unique_fd fd;
  fs::path temp;
  fs::path final;
};

class filesystem_group;

/// Writes a temp file next to the final name; commit hands it to the group (still hidden).
class group_writer final : public object_writer {
 public:
  group_writer(filesystem_group& group, std::string key, fs::path final_path, fs::path temp_path, unique_fd fd)
      : group_(group), key_(std::move(key)), final_(std::move(final_path)), temp_(std::move(temp_path)),
        fd_(std::move(fd)) {}
  ~group_writer() override { abort(); }

  result<void> write(byte_view chunk) override {
    if (!fd_.valid()) return fail(errc::internal, fmt::format("write to '{}' after commit or abort", key_));
    while (!chunk.empty()) {
      const auto piece = chunk.first(std::min(chunk.size(), writeback_chunk));
      if (auto ok = write_all(fd_.get(), piece, temp_); !ok) {
        abort();
        return ok;
      }
      written_ += piece.size();
      chunk = chunk.subspan(piece.size());
      if (written_ - started_ >= writeback_chunk) start_writeback();
    }
    return {};
  }

  result<void> commit() override;

  void abort() noexcept override {
    fd_.reset();
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
      temp_.clear();
    }
  }

  [[nodiscard]] std::uint64_t bytes_written() const noexcept override { return written_; }

 private:
  /// Hands what is written so far to the disk; errors surface at the group's fsync.
  void start_writeback() noexcept {
    if (written_ > started_)
      (void)::sync_file_range(fd_.get(), static_cast<off_t>(started_), static_cast<off_t>(written_ - started_),
                              SYNC_FILE_RANGE_WRITE);
    started_ = written_;
  }

  filesystem_group& group_;
  std::string key_;
  fs::path final_;
  fs::path temp_;
  unique_fd fd_;
  std::uint64_t written_ = 0;
  std::uint64_t started_ = 0;
};

class filesystem_group final : public commit_group {
 public:
  explicit filesystem_group(const filesystem_store& store) : store_(store) {}
  ~filesystem_group() override { discard(); }

  // put(key, pieces): commit_group's, the pieces written in turn through open_writer.
  using commit_group::put;

  result<void> put(std::string_view key, byte_view data) override {
    auto w = open_writer(key);
    if (!w) return tl::unexpected(std::move(w.error()));
    if (auto ok = (*w)->write(data); !ok) return ok;
    return (*w)->commit();
  }

  result<std::unique_ptr<object_writer>> open_writer(std::string_view key) override {
    auto path = store_.path_of(key);
    if (!path) return tl::unexpected(path.error());
    if (auto ok = make_dirs(path->parent_path()); !ok) return tl::unexpected(ok.error());
    fs::path temp = temp_path_for(*path);
    unique_fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd.valid()) return tl::unexpected(os_error(errno, "cannot create", temp));
    return std::unique_ptr<object_writer>(
        std::make_unique<group_writer>(*this, std::string(key), *path, std::move(temp), std::move(fd)));
  }

  result<void> sync() override {
    auto staged = std::exchange(staged_, {});
    auto dirs = std::exchange(dirs_, {});
    auto drop_from = [&staged](std::size_t i) {
      for (; i < staged.size(); ++i) {
        staged[i].fd.reset();
        ::unlink(staged[i].temp.c_str());
      }
    };
    // 1. Data: the first fsync commits the journal holding every file's allocation; the others
    //    mostly wait for writeback already under way.
    for (auto& s : staged) {
      int err = ::fsync(s.fd.get()) == 0 ? 0 : errno;
      if (err == 0) err = s.fd.close_checked();
      if (err != 0) {
        const auto e = os_error(err, "cannot fsync", s.temp);
        drop_from(0);
        return tl::unexpected(e);
      }
    }
    // 2. Names: each file appears whole under its final name.
    for (std::size_t i = 0; i < staged.size(); ++i) {
      if (::rename(staged[i].temp.c_str(), staged[i].final.c_str()) != 0) {
        const auto e = os_error(errno, "cannot rename into place", staged[i].final);
        drop_from(i);
        return tl::unexpected(e);
      }
      staged[i].temp.clear();
      dirs.insert(staged[i].final.parent_path());
    }
    // 3. Directories: once each, whatever number of entries changed in it. The descriptors stay
    //    open for the group's next sync (the checkpoints after the segments, same folders).
    for (const auto& d : dirs)
      if (auto ok = sync_dir(d); !ok) return ok;
    return {};
  }

  void stage(staged_file f) { staged_.push_back(std::move(f)); }

 private:
  /// mkdir -p; the parent of every folder created is fsynced at the next sync (not one by one).
  result<void> make_dirs(const fs::path& dir) {
    return storage::make_dirs(dir, [this](const fs::path& parent) {
      dirs_.insert(parent);
      return result<void>{};
    });
  }

  result<void> sync_dir(const fs::path& dir) {
    auto it = dir_fds_.find(dir);
    if (it == dir_fds_.end()) {
      unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd.valid()) return tl::unexpected(os_error(errno, "cannot open directory", dir));
      if (dir_fds_.size() >= max_dir_fds) dir_fds_.clear();
      it = dir_fds_.emplace(dir, std::move(fd)).first;
    }
    if (::fsync(it->second.get()) != 0 && errno != EINVAL) {
      return tl::unexpected(os_error(errno, "cannot fsync directory", dir));
    }
    return {};
  }

  void discard() noexcept {
    for (auto& s : staged_) {
      s.fd.reset();
      ::unlink(s.temp.c_str());
    }
    staged_.clear();
  }

  const filesystem_store& store_;
  std::vector<staged_file> staged_;
  std::set<fs::path> dirs_;  ///< folders created since the last sync: their parents need a sync
  std::map<fs::path, unique_fd> dir_fds_;  ///< folders synced by this group, kept open for its next sync
};

result<void> group_writer::commit() {
  if (!fd_.valid()) return fail(errc::internal, fmt::format("commit of '{}' after commit or abort", key_));
  // Writeback (and ext4's delayed block allocation) starts now for every file of the group, so
  // the first fsync of the sync commits one journal transaction holding all of them; left to
  // each fsync, every file would allocate in, and wait for, a transaction of its own.
  start_writeback();
  group_.stage({std::move(fd_), std::exchange(temp_, {}), final_});
  return {};
}

}  // namespace

std::unique_ptr<commit_group> make_filesystem_group(const filesystem_store& store) {
  return std::make_unique<filesystem_group>(store);
}

}  // namespace kb::storage
