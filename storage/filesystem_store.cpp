#include "storage/filesystem_store.hpp"

#include "storage/filesystem_group.hpp"
#include "storage/local_file.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace kb::storage {
namespace fs = std::filesystem;
namespace {

/// Writes go out in pieces of this size, each handed to the disk at once (sync_file_range), so a
/// large segment streams to disk while the pipeline keeps working instead of all of it waiting
/// for the final fsync (the kernel would otherwise hold gigabytes dirty before writing back).
constexpr std::size_t writeback_chunk = 8u << 20;

result<void> read_at(int fd, std::uint8_t* out, std::size_t length, std::uint64_t offset,
                     const fs::path& path) {
  while (length > 0) {
    const ssize_t n = ::pread(fd, out, length, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(os_error(errno, "cannot read", path));
    }
    if (n == 0) {
      return fail(errc::io, fmt::format("{} became shorter while it was read", path.string()));
    }
    out += n;
    length -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

/// Writes to a temp file next to the final name; commit renames it into place.
class filesystem_writer final : public object_writer {
 public:
  filesystem_writer(std::string key, fs::path final_path, fs::path temp_path, unique_fd fd)
      : key_(std::move(key)), final_(std::move(final_path)), temp_(std::move(temp_path)),
        fd_(std::move(fd)) {}
  ~filesystem_writer() override { abort(); }

  result<void> write(byte_view chunk) override {
    if (!fd_.valid()) {
      return fail(errc::internal, fmt::format("write to '{}' after commit or abort", key_));
    }
    while (!chunk.empty()) {
      const auto piece = chunk.first(std::min(chunk.size(), writeback_chunk));
      if (auto ok = write_all(fd_.get(), piece, temp_); !ok) {
        abort();
        return ok;
      }
      written_ += piece.size();
      chunk = chunk.subspan(piece.size());
      if (written_ - started_ >= writeback_chunk) {
        // Start writeback of what is written so far; errors surface at the fsync in commit().
        (void)::sync_file_range(fd_.get(), static_cast<off_t>(started_),
                                static_cast<off_t>(written_ - started_), SYNC_FILE_RANGE_WRITE);
        started_ = written_;
      }
    }
    return {};
  }

  result<void> commit() override {
    if (!fd_.valid()) {
      return fail(errc::internal, fmt::format("commit of '{}' after commit or abort", key_));
    }
    if (::fsync(fd_.get()) != 0) {
      const auto e = os_error(errno, "cannot fsync", temp_);
      abort();
      return tl::unexpected(e);
    }
    if (const int err = fd_.close_checked(); err != 0) {
      const auto e = os_error(err, "cannot close", temp_);
      abort();
      return tl::unexpected(e);
    }
    if (::rename(temp_.c_str(), final_.c_str()) != 0) {
      const auto e = os_error(errno, "cannot rename into place", final_);
      abort();
      return tl::unexpected(e);
    }
    temp_.clear();
    return fsync_dir(final_.parent_path());
  }

  void abort() noexcept override {
    fd_.reset();
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
      temp_.clear();
    }
  }

  [[nodiscard]] std::uint64_t bytes_written() const noexcept override { return written_; }

 private:
  std::string key_;
  fs::path final_;
  fs::path temp_;
  unique_fd fd_;
  std::uint64_t written_ = 0;
  std::uint64_t started_ = 0;  ///< bytes whose writeback was started
};

result<std::unique_ptr<filesystem_writer>> open_temp(std::string_view key, const fs::path& final_path) {
  if (auto ok = make_dirs(final_path.parent_path()); !ok) return tl::unexpected(ok.error());
  fs::path temp = temp_path_for(final_path);
  unique_fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return tl::unexpected(os_error(errno, "cannot create", temp));
  return std::make_unique<filesystem_writer>(std::string(key), final_path, std::move(temp),
                                             std::move(fd));
}

/// The pid a temp file's name carries (`name.kb-tmp.<pid>.<n>`), or -1.
long temp_file_pid(std::string_view name) {
  const auto at = name.rfind(temp_marker);
  if (at == std::string_view::npos) return -1;
  const std::string_view rest = name.substr(at + temp_marker.size());
  long pid = -1;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
  if (ec != std::errc() || end == rest.data() + rest.size() || *end != '.') return -1;
  return pid;
}

/// True when `pid` is another process that still runs here (its temp file may be in use).
bool other_process_alive(long pid) {
  if (pid <= 0 || pid == static_cast<long>(::getpid())) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

result<stale_cleanup> filesystem_store::cleanup_stale(std::string_view prefix,
                                                      std::chrono::system_clock::time_point before,
                                                      const std::vector<std::string>& keep) {
  if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
  stale_cleanup out;
  const fs::path start = root_ / fs::path(std::string(prefix));
  std::error_code ec;
  if (!fs::is_directory(start, ec)) return out;
  fs::recursive_directory_iterator it(start, fs::directory_options::skip_permission_denied, ec);
  if (ec) return tl::unexpected(os_error(ec.value(), "cannot list", start));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return tl::unexpected(os_error(ec.value(), "cannot list", start));
    const fs::path& path = it->path();
    const std::string rel = path.lexically_relative(root_).generic_string();
    bool kept = false;
    for (const auto& k : keep) kept = kept || rel.starts_with(k);
    if (kept) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    const std::string name = path.filename().string();
    if (name.find(temp_marker) == std::string::npos || !it->is_regular_file(ec)) continue;
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) continue;  // gone meanwhile
    const auto modified = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    if (modified >= before || other_process_alive(temp_file_pid(name))) continue;
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;
      return tl::unexpected(os_error(errno, "cannot remove the stale temp file", path));
    }
    out.removed.push_back(rel);
    out.bytes += static_cast<std::uint64_t>(st.st_size);
  }
  return out;
}


filesystem_store::filesystem_store(const fs::path& root) : root_(root.lexically_normal()) {
  // "dir/" and "dir" name the same folder; keep the form without the trailing separator.
  if (!root_.has_filename() && root_.has_parent_path() && root_ != root_.root_path()) {
    root_ = root_.parent_path();
  }
  if (root_.empty()) root_ = ".";
}

std::string filesystem_store::describe() const {
  std::string out = root_.string();
  if (out.empty() || out.back() != '/') out.push_back('/');
  return out;
}

result<fs::path> filesystem_store::path_of(std::string_view key) const {
  if (auto ok = validate_key(key); !ok) return tl::unexpected(ok.error());
  if (key.find(temp_marker) != std::string_view::npos) {
    return fail(errc::invalid_argument,
                fmt::format("object key '{}' contains '{}', reserved for temporary files", key,
                            temp_marker));
  }
  return root_ / fs::path(std::string(key));
}

result<void> filesystem_store::put(std::string_view key, byte_view data) {
  auto path = path_of(key);
  if (!path) return tl::unexpected(path.error());
  auto writer = open_temp(key, *path);
  if (!writer) return tl::unexpected(writer.error());
  if (auto ok = (*writer)->write(data); !ok) return ok;
  return (*writer)->commit();
}

result<void> filesystem_store::put(std::string_view key, byte_pieces pieces) {
  auto path = path_of(key);
  if (!path) return tl::unexpected(path.error());
  auto writer = open_temp(key, *path);
  if (!writer) return tl::unexpected(writer.error());
  for (const byte_view p : pieces)
    if (auto ok = (*writer)->write(p); !ok) return ok;
  return (*writer)->commit();
}

result<void> filesystem_store::put_if_absent(std::string_view key, byte_view data) {
  auto path = path_of(key);
  if (!path) return tl::unexpected(path.error());
  if (auto ok = make_dirs(path->parent_path()); !ok) return ok;
  const fs::path temp = temp_path_for(*path);
  unique_fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return tl::unexpected(os_error(errno, "cannot create", temp));
  auto cleanup = [&temp] { ::unlink(temp.c_str()); };
  if (auto ok = write_all(fd.get(), data, temp); !ok) {
    cleanup();
    return ok;
  }
  if (::fsync(fd.get()) != 0 || fd.close_checked() != 0) {
    const auto e = os_error(errno, "cannot fsync", temp);
    cleanup();
    return tl::unexpected(e);
  }
  // link() refuses an existing name atomically: the create-if-absent primitive.
  if (::link(temp.c_str(), path->c_str()) != 0) {
    const int err = errno;
    cleanup();
    if (err == EEXIST) {
      return fail(errc::conflict, fmt::format("object '{}' already exists in {}", key, describe()));
    }
    return tl::unexpected(os_error(err, "cannot create", *path));
  }
  cleanup();
  return fsync_dir(path->parent_path());
}

result<byte_vector> filesystem_store::get(std::string_view key) {
  auto path = path_of(key);
  if (!path) return tl::unexpected(path.error());
  unique_fd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return fail(errc::not_found, fmt::format("object '{}' not found in {}", key, describe()));
    }
    return tl::unexpected(os_error(errno, "cannot open", *path));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return tl::unexpected(os_error(errno, "cannot stat", *path));
  if (!S_ISREG(st.st_mode)) {
    return fail(errc::not_found, fmt::format("object '{}' not found in {} (it is a folder)", key,
                                             describe()));
  }
  byte_vector out(static_cast<std::size_t>(st.st_size));
  if (auto ok = read_at(fd.get(), out.data(), out.size(), 0, *path); !ok) {
    return tl::unexpected(ok.error());
  }
  return out;
}

result<byte_vector> filesystem_store::get_range(std::string_view key, std::uint64_t offset,
                                                std::uint64_t length) {
  auto path = path_of(key);
  if (!path) return tl::unexpected(path.error());
  unique_fd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return fail(errc::not_found, fmt::format("object '{}' not found in {}", key, describe()));
    }
    return tl::unexpected(os_error(errno, "cannot open", *path));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return tl::unexpected(os_error(errno, "cannot stat", *path));
  if (!S_ISREG(st.st_mode)) {
    return fail(errc::not_found, fmt::format("object '{}' not found in {}", key, describe()));
  }
  if (length == 0) return byte_vector{};
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (offset >= size) {
    return fail(errc::invalid_argument,
                fmt::format("range at offset {} is past the end of '{}' ({} bytes)", offset, key,
                            size));
  }
  byte_vector out(static_cast<std::size_t>(std::min(length, size - offset)));
  if (auto ok = read_at(fd.get(), out.data(), out.size(), offset, *path); !ok) {
    return tl::unexpected(ok.error());
  }
  return out;
}

result<object_meta> filesystem_store::head(std::string_view key) {
  auto path = path_of(key);
  if (!path) return tl::unexpected(path.error());
  struct stat st{};
  if (::stat(path->c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return fail(errc::not_found, fmt::format("object '{}' not found in {}", key, describe()));
    }
    return tl::unexpected(os_error(errno, "cannot stat", *path));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(errc::not_found, fmt::format("object '{}' not found in {}", key, describe()));
  }
  return object_meta{static_cast<std::uint64_t>(st.st_size), {}};
}

result<std::vector<object_info>> filesystem_store::do_list(std::string_view prefix,
                                                          const list_options& options) {
  if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
  const auto slash = prefix.rfind('/');
  const std::string dir_part(slash == std::string_view::npos ? std::string_view()
                                                             : prefix.substr(0, slash + 1));
  const fs::path start = dir_part.empty() ? root_ : root_ / fs::path(dir_part);
  std::vector<object_info> out;
  std::error_code ec;
  if (!fs::is_directory(start, ec)) return out;  // nothing stored there (yet)
  fs::recursive_directory_iterator it(start, fs::directory_options::none, ec);
  const fs::recursive_directory_iterator end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    std::error_code entry_ec;
    if (!entry.is_regular_file(entry_ec)) continue;
    const std::string name = entry.path().filename().string();
    if (name.find(temp_marker) != std::string::npos) continue;
    std::string key = dir_part + entry.path().lexically_relative(start).generic_string();
    if (!key.starts_with(prefix)) continue;
    if (!options.start_after.empty() && key <= options.start_after) continue;
    const auto size = entry.file_size(entry_ec);
    if (entry_ec) continue;  // removed while we listed
    out.push_back({std::move(key), static_cast<std::uint64_t>(size), {}});
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return tl::unexpected(os_error(ec.value(), "cannot list", start));
  }
  std::sort(out.begin(), out.end(),
            [](const object_info& a, const object_info& b) { return a.key < b.key; });
  return out;
}

result<std::vector<std::string>> filesystem_store::list_prefixes(std::string_view prefix) {
  if (auto ok = validate_prefix(prefix); !ok) return tl::unexpected(ok.error());
  if (!prefix.empty() && prefix.back() != '/') {
    return fail(errc::invalid_argument,
                fmt::format("list_prefixes needs a folder prefix ending in '/', got '{}'", prefix));
  }
  const fs::path dir = prefix.empty() ? root_ : root_ / fs::path(std::string(prefix));
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (it->is_directory(entry_ec)) {
      out.push_back(std::string(prefix) + it->path().filename().string() + "/");
    }
  }
  if (ec) return tl::unexpected(os_error(ec.value(), "cannot list", dir));
  std::sort(out.begin(), out.end());
  return out;
}

result<void> filesystem_store::remove(std::string_view key) {
  auto path = path_of(key);
  if (!path) return tl::unexpected(path.error());
  if (::unlink(path->c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return {};
    return tl::unexpected(os_error(errno, "cannot remove", *path));
  }
  if (auto ok = fsync_dir(path->parent_path()); !ok) return ok;
  // Drop folders left empty, up to (not including) the root; a non-empty one stops it.
  fs::path dir = path->parent_path();
  while (dir != root_ && dir.string().size() > root_.string().size()) {
    if (::rmdir(dir.c_str()) != 0) break;
    dir = dir.parent_path();
  }
  return {};
}

result<std::unique_ptr<object_writer>> filesystem_store::open_writer(std::string_view key) {
  auto path = path_of(key);
  if (!path) return tl::unexpected(path.error());
  auto writer = open_temp(key, *path);
  if (!writer) return tl::unexpected(writer.error());
  return std::unique_ptr<object_writer>(std::move(*writer));
}

std::unique_ptr<commit_group> filesystem_store::open_commit_group() { return make_filesystem_group(*this); }

}  // namespace kb::storage
