// Rendering and writing the run summary; boost::json escapes the strings.
#include "cli/run_summary.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace kb::cli {

std::string_view run_outcome(const run_summary& s) noexcept {
  if (s.exit_code != 0) return "failed";
  return s.interrupted ? "stopped" : "succeeded";
}

namespace {

std::string render(const run_summary& s, const std::vector<std::string>& errors, bool truncated) {
  boost::json::object o;
  o["command"] = s.command;
  o["backup_id"] = s.backup_id;
  if (!s.restore_id.empty()) o["restore_id"] = s.restore_id;
  o["exit_code"] = s.exit_code;
  o["outcome"] = std::string(run_outcome(s));
  o["records"] = s.records;
  o["bytes"] = s.bytes;
  o["partitions"] = s.partitions;
  if (s.command == "backup") o["segments"] = s.segments;
  o["duration_seconds"] = std::round(s.duration_seconds * 1000.0) / 1000.0;
  boost::json::array errs;
  for (const auto& e : errors) errs.emplace_back(e);
  o["errors"] = std::move(errs);
  if (truncated) o["errors_truncated"] = true;
  return boost::json::serialize(o) + "\n";
}

}  // namespace

std::string render_run_summary(const run_summary& s, std::size_t max_bytes) {
  std::vector<std::string> errors = s.errors;
  std::string text = render(s, errors, false);
  // Bounded: each round drops an error or halves the last one.
  for (int round = 0; text.size() > max_bytes && round < 256; ++round) {
    if (errors.size() > 1) {
      errors.pop_back();
    } else if (!errors.empty() && errors.front().size() > 16) {
      auto& e = errors.front();
      e.resize(e.size() / 2);
      e += "...";
    } else {
      errors.clear();
    }
    text = render(s, errors, true);
  }
  return text;
}

std::optional<std::string> summary_path(const std::optional<std::string>& flag, std::string_view fallback) {
  if (flag) return *flag;
  if (!fallback.empty() && ::access(std::string(fallback).c_str(), F_OK) == 0) return std::string(fallback);
  return std::nullopt;
}

namespace {

kb::result<void> write_all(int fd, std::string_view text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return kb::fail(kb::errc::io, fmt::format("cannot write the run summary to {}: {}", path, std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

namespace {

kb::result<void> write_in_place(const std::string& path, std::string_view text, int flags) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | flags);
  if (fd < 0) return kb::fail(kb::errc::io, fmt::format("cannot open {} for the run summary: {}", path, std::strerror(errno)));
  auto r = write_all(fd, text, path);
  ::close(fd);
  return r;
}

}  // namespace

kb::result<void> write_run_summary(const std::string& path, std::string_view text) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) return write_in_place(path, text, 0);
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    // The kubelet's /dev/termination-log is a regular file bind-mounted into a directory the
    // container cannot write: an existing file is then written in place (the kubelet reads it
    // only after the container exited, so no reader sees half of it).
    if (exists) return write_in_place(path, text, O_TRUNC);
    return kb::fail(kb::errc::io, fmt::format("cannot create {} for the run summary: {}; check --summary-file", tmp,
                                              std::strerror(errno)));
  }
  auto r = write_all(fd, text, path);
  if (r && ::fsync(fd) != 0) r = kb::fail(kb::errc::io, fmt::format("cannot sync {}: {}", tmp, std::strerror(errno)));
  ::close(fd);
  if (r && ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(tmp.c_str());
    // A mount point (the bind-mounted termination log, when the directory is writable) cannot
    // be replaced by a rename (EBUSY): written in place as above.
    if (exists) return write_in_place(path, text, O_TRUNC);
    return kb::fail(kb::errc::io, fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(rename_errno)));
  }
  if (!r) ::unlink(tmp.c_str());
  return r;
}

}  // namespace kb::cli
