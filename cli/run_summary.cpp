// Rendering (a described struct through Boost.JSON, which escapes the strings) and writing the run summary.
#include "cli/run_summary.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <string_view>

#include <boost/describe/class.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include "storage/format/json_map.hpp"

namespace kb::cli {

std::string_view run_outcome(const run_summary& s) noexcept {
  if (s.exit_code != 0) return "failed";
  return s.interrupted ? "stopped" : "succeeded";
}

namespace {

/// The document of docs/ (run summary): run_summary plus what is derived from it, in the
/// documented order; restore_id, segments and errors_truncated only where they apply.
struct summary_document {
  std::string command;
  std::string backup_id;
  std::string restore_id;
  int exit_code = 0;
  std::string outcome;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t partitions = 0;
  std::optional<std::uint64_t> segments;  ///< backup only
  double duration_seconds = 0;
  std::vector<std::string> errors;
  bool errors_truncated = false;
};
BOOST_DESCRIBE_STRUCT(summary_document, (),
                      (command, backup_id, restore_id, exit_code, outcome, records, bytes, partitions, segments,
                       duration_seconds, errors, errors_truncated))
using json_map::tag_invoke;
[[maybe_unused]] constexpr std::array<std::string_view, 3> json_omit_default(const summary_document* /*unused*/) {
  return {"restore_id", "segments", "errors_truncated"};
}

std::string render(const run_summary& s, const std::vector<std::string>& errors, bool truncated) {
  const summary_document doc{s.command,
                             s.backup_id,
                             s.restore_id,
                             s.exit_code,
                             std::string(run_outcome(s)),
                             s.records,
                             s.bytes,
                             s.partitions,
                             s.command == "backup" ? std::optional(s.segments) : std::nullopt,
                             std::round(s.duration_seconds * 1000.0) / 1000.0,
                             errors,
                             truncated};
  return boost::json::serialize(boost::json::value_from(doc)) + "\n";
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
