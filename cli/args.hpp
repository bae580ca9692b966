// Command-line parsing for `kafka-backup`: the subcommands and flags of DESIGN.md §2, and the
// help texts. Pure: no I/O; errors are kb::errc::invalid_argument (exit 2 with a usage hint).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/log.hpp"

namespace kb::cli {

enum class command { none, backup, restore, list, describe, validate, config, prune, reset_offsets };

/// `--log-level`, `--log-format`, `--no-progress`, `--summary-file`: accepted before or after the subcommand.
struct global_flags {
  std::optional<kb::log::level> log_level;
  std::optional<kb::log::format> log_format;
  bool no_progress = false;
  std::optional<std::string> summary_file;  ///< --summary-file PATH (backup, restore; ignored elsewhere)
};

struct parsed_args {
  command cmd = command::none;
  bool help = false;     ///< --help / -h (for the subcommand when one is given)
  bool version = false;  ///< --version / -V
  global_flags global;
  std::string config_path;  ///< backup, restore, config, reset-offsets: --config / -c
  std::string path;         ///< list, describe, validate: --path / -p (a plain path or URL)
  std::string backup_id;    ///< describe, validate: --backup-id / -b
  std::string format;       ///< describe: text|json (default text); config: yaml|json (default yaml)
  bool dry_run = false;     ///< restore --dry-run
  bool deep = false;        ///< validate --deep
  std::optional<std::uint32_t> keep_last;     ///< prune --keep-last N (required)
  std::optional<std::uint32_t> max_age_days;  ///< prune --max-age-days D
};

/// Parses the arguments after the program name. `--flag value` and `--flag=value` both work.
[[nodiscard]] kb::result<parsed_args> parse_args(const std::vector<std::string>& args);

/// The subcommand's name as typed (`backup`, …); "" for command::none.
[[nodiscard]] std::string_view command_name(command c) noexcept;

/// The full `--help` text.
[[nodiscard]] std::string usage_text();
/// One subcommand's help text.
[[nodiscard]] std::string command_usage(command c);
/// The one-line synopsis of a subcommand (or of the program for command::none).
[[nodiscard]] std::string_view command_synopsis(command c) noexcept;

}  // namespace kb::cli
