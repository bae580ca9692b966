// The JSON run summary a backup or restore leaves behind: `--summary-file PATH`, by default
// /dev/termination-log when it exists (Kubernetes shows it as the pod's termination message).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace kb::cli {

struct run_summary {
  std::string command;  ///< "backup" or "restore"
  std::string backup_id;
  std::string restore_id;  ///< restore only
  int exit_code = 0;
  bool interrupted = false;  ///< stopped by a signal (the work done is committed)
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;  ///< backup: raw bytes stored; restore: bytes produced
  std::uint64_t partitions = 0;
  std::uint64_t segments = 0;  ///< backup only: segments written in this run
  double duration_seconds = 0;
  std::vector<std::string> errors;  ///< the final error lines as printed (never secrets)
};

/// Kubernetes keeps at most this many bytes of a termination message.
inline constexpr std::size_t termination_log_max_bytes = 4096;
inline constexpr std::string_view termination_log_path = "/dev/termination-log";

/// "succeeded", "stopped" (signal, exit 0) or "failed".
[[nodiscard]] std::string_view run_outcome(const run_summary& s) noexcept;

/// One JSON object and a newline, at most `max_bytes` long: when longer, the error list is cut
/// from its end (the last line shortened if need be) and "errors_truncated": true is set.
[[nodiscard]] std::string render_run_summary(const run_summary& s, std::size_t max_bytes = termination_log_max_bytes);

/// Where the summary goes: the flag's value, else `fallback` when that file exists, else none.
[[nodiscard]] std::optional<std::string> summary_path(const std::optional<std::string>& flag,
                                                      std::string_view fallback = termination_log_path);

/// Writes `text` to `path`: a regular file (or a new one) through a temp file and rename, so a
/// reader never sees half a summary; anything else (a pipe) directly, and so an existing file that
/// cannot be replaced (the kubelet's bind-mounted /dev/termination-log in a read-only /dev).
[[nodiscard]] kb::result<void> write_run_summary(const std::string& path, std::string_view text);

}  // namespace kb::cli
