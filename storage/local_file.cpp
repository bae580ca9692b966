// Durable local files: fsync/rename helpers shared by the filesystem store and local state.
#include "storage/local_file.hpp"

#include <atomic>
#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace kb::storage {
namespace fs = std::filesystem;

void unique_fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int unique_fd::close_checked() noexcept {
  const int rc = ::close(fd_);
  fd_ = -1;
  return rc == 0 ? 0 : errno;
}

kb::error os_error(int err, std::string_view action, const fs::path& path) {
  const std::string what = std::generic_category().message(err);
  if (err == ENOSPC || err == EDQUOT) {
    return {make_error_code(errc::io),
            fmt::format("{} {}: {} (disk full): free space or point the backup elsewhere, then "
                        "rerun; nothing half-written was left under a final name",
                        action, path.string(), what)};
  }
  if (err == EACCES || err == EPERM) {
    return {make_error_code(errc::authorization),
            fmt::format("{} {}: {}: check the owner and mode of the directory and the user "
                        "kafka-backup runs as",
                        action, path.string(), what)};
  }
  if (err == EROFS) {
    return {make_error_code(errc::io),
            fmt::format("{} {}: {}: the filesystem is mounted read-only", action, path.string(),
                        what)};
  }
  return {make_error_code(errc::io), fmt::format("{} {}: {}", action, path.string(), what)};
}

result<void> fsync_dir(const fs::path& dir) {
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return tl::unexpected(os_error(errno, "cannot open directory", dir));
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return tl::unexpected(os_error(errno, "cannot fsync directory", dir));
  }
  return {};
}

result<void> make_dirs(const fs::path& dir) {
  return make_dirs(dir, [](const fs::path& parent) { return fsync_dir(parent); });
}

result<void> make_dirs(const fs::path& dir, const std::function<result<void>(const fs::path&)>& created) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return tl::unexpected(os_error(ENOTDIR, "cannot create directory", dir));
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (auto ok = make_dirs(dir.parent_path(), created); !ok) return ok;
  }
  if (::mkdir(dir.c_str(), 0777) != 0) {
    if (errno == EEXIST) return {};
    return tl::unexpected(os_error(errno, "cannot create directory", dir));
  }
  return created(dir.has_parent_path() ? dir.parent_path() : fs::path("."));
}

result<void> write_all(int fd, byte_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(os_error(errno, "cannot write", path));
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

fs::path temp_path_for(const fs::path& final_path) {
  static std::atomic<std::uint64_t> counter{0};
  return final_path.parent_path() /
         fmt::format("{}{}{}.{}", final_path.filename().string(), temp_marker, ::getpid(),
                     counter.fetch_add(1, std::memory_order_relaxed));
}

result<void> write_file_atomic(const fs::path& path, byte_view data) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (auto ok = make_dirs(dir); !ok) return ok;
  const fs::path temp = temp_path_for(path);
  unique_fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return tl::unexpected(os_error(errno, "cannot create", temp));
  auto fail_with = [&temp](kb::error e) -> result<void> {
    ::unlink(temp.c_str());
    return tl::unexpected(std::move(e));
  };
  if (auto ok = write_all(fd.get(), data, temp); !ok) return fail_with(ok.error());
  if (::fsync(fd.get()) != 0) return fail_with(os_error(errno, "cannot fsync", temp));
  if (const int err = fd.close_checked(); err != 0) return fail_with(os_error(err, "cannot close", temp));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail_with(os_error(errno, "cannot rename into place", path));
  }
  return fsync_dir(dir);
}

result<byte_vector> read_file(const fs::path& path, std::size_t max_bytes) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return fail(errc::not_found, fmt::format("{} does not exist", path.string()));
    return tl::unexpected(os_error(errno, "cannot open", path));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return tl::unexpected(os_error(errno, "cannot stat", path));
  if (!S_ISREG(st.st_mode)) return fail(errc::io, fmt::format("{} is not a regular file", path.string()));
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return fail(errc::io, fmt::format("{} is {} bytes, more than the {} this file may hold", path.string(),
                                      st.st_size, max_bytes));
  }
  byte_vector out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(os_error(errno, "cannot read", path));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

}  // namespace kb::storage
