#include "cli/args.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace kb::cli {
namespace {

struct command_info {
  command cmd;
  std::string_view name;
  std::string_view synopsis;
  std::string_view summary;
};

constexpr std::array<command_info, 8> k_commands{{
    {command::backup, "backup", "kafka-backup backup --config FILE",
     "Back up the topics of `source:` to `storage:` (one-shot, snapshot or continuous)."},
    {command::restore, "restore", "kafka-backup restore --config FILE [--dry-run]",
     "Restore a backup set into the cluster of `target:`."},
    {command::list, "list", "kafka-backup list --path URL [--format text|json]",
     "List the backup sets under a storage location."},
    {command::describe, "describe",
     "kafka-backup describe --path URL --backup-id ID [--format text|json]",
     "Show a backup set's topics, partitions, offsets, sizes and gaps."},
    {command::validate, "validate", "kafka-backup validate --path URL --backup-id ID [--deep]",
     "Check a backup set's integrity (--deep reads and verifies every segment)."},
    {command::config, "config", "kafka-backup config --config FILE [--format yaml|json]",
     "Print the resolved configuration with defaults filled in and secrets as ***."},
    {command::prune, "prune",
     "kafka-backup prune --path URL --keep-last N [--max-age-days D] [--dry-run] [--format text|json]",
     "Delete whole old backup ids: all but the newest N, or (with --max-age-days) those older than D days\n"
     "            beyond the newest N. Backups a running backup holds (lease) are never deleted."},
    {command::reset_offsets, "reset-offsets",
     "kafka-backup reset-offsets --config FILE [--dry-run] [--format text|json]",
     "Reset consumer groups' committed offsets (to-earliest, to-latest, to-timestamp, to-offset) in the\n"
     "            cluster of `source:`; the groups must be inactive. See docs/reset-offsets.md."},
}};

const command_info* find_command(std::string_view name) {
  for (const auto& info : k_commands) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

const command_info* find_command(command c) {
  for (const auto& info : k_commands) {
    if (info.cmd == c) return &info;
  }
  return nullptr;
}

kb::error usage_error(command c, std::string message) {
  const auto synopsis = command_synopsis(c);
  const auto help = c == command::none ? std::string("kafka-backup --help")
                                       : fmt::format("kafka-backup {} --help", command_name(c));
  return kb::error{kb::make_error_code(kb::errc::invalid_argument),
                   fmt::format("{}\nusage: {}\nRun '{}' for more.", message, synopsis, help)};
}

/// Which value-taking flags a subcommand accepts (global ones are handled separately).
bool accepts(command c, std::string_view flag) {
  switch (c) {
    case command::backup: return flag == "--config";
    case command::restore: return flag == "--config" || flag == "--dry-run";
    case command::list: return flag == "--path" || flag == "--format";
    case command::describe: return flag == "--path" || flag == "--backup-id" || flag == "--format";
    case command::validate: return flag == "--path" || flag == "--backup-id" || flag == "--deep";
    case command::config: return flag == "--config" || flag == "--format";
    case command::prune:
      return flag == "--path" || flag == "--keep-last" || flag == "--max-age-days" || flag == "--dry-run" ||
             flag == "--format";
    case command::reset_offsets: return flag == "--config" || flag == "--dry-run" || flag == "--format";
    case command::none: return false;
  }
  return false;
}

std::string canonical_flag(std::string_view flag) {
  if (flag == "-c") return "--config";
  if (flag == "-p") return "--path";
  if (flag == "-b") return "--backup-id";
  if (flag == "-f") return "--format";
  if (flag == "-h") return "--help";
  if (flag == "-V") return "--version";
  return std::string(flag);
}

bool takes_value(std::string_view flag) {
  return flag == "--config" || flag == "--path" || flag == "--backup-id" || flag == "--format" ||
         flag == "--log-level" || flag == "--log-format" || flag == "--summary-file" || flag == "--keep-last" ||
         flag == "--max-age-days";
}

/// A whole non-negative number of at most 9 digits ("3", not "3.5", "-1" or "3d").
std::optional<std::uint32_t> parse_count(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  std::uint32_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return v;
}

}  // namespace

std::string_view command_name(command c) noexcept {
  const auto* info = find_command(c);
  return info ? info->name : std::string_view{};
}

std::string_view command_synopsis(command c) noexcept {
  const auto* info = find_command(c);
  return info ? info->synopsis : std::string_view("kafka-backup <command> [flags]");
}

std::string usage_text() {
  std::string text = fmt::format(
      "kafka-backup {} - back up and restore Apache Kafka topics to object storage or a "
      "filesystem\n\n"
      "Usage:\n",
      KB_VERSION);
  for (const auto& info : k_commands) text += fmt::format("  {}\n", info.synopsis);
  text +=
      "  kafka-backup --version | --help\n\n"
      "Commands:\n";
  for (const auto& info : k_commands) {
    text += fmt::format("  {:<9} {}\n", info.name, info.summary);
  }
  text +=
      "\nGlobal flags (before or after the command):\n"
      "  --log-level error|warn|info|debug   log verbosity on stderr (default info)\n"
      "  --log-format text|json              log line format (default text)\n"
      "  --no-progress                       never draw the progress bar\n"
      "  --summary-file PATH                 backup, restore, reset-offsets: write the run's JSON summary there\n"
      "                                      (default /dev/termination-log when it exists)\n"
      "  -h, --help                          this text, or a command's help after it\n"
      "  -V, --version                       print the version\n"
      "\nStorage URL: a plain path, file:///abs/path, or "
      "s3://bucket/prefix?endpoint=http://h:p&region=r&path_style=true\n"
      "(S3 credentials: the AWS chain — AWS_* variables, AWS_PROFILE / credential_process, container\n"
      "credentials, EC2 IMDSv2; see docs/storage.md).\n"
      "Config files substitute ${VAR} and ${VAR:-default} from the environment; $$ is a "
      "literal $.\n"
      "\nExit codes: 0 success, 1 runtime failure, 2 usage or configuration error,\n"
      "3 cannot connect / TLS / SASL / authorization failure, 4 integrity failure.\n";
  return text;
}

std::string command_usage(command c) {
  const auto* info = find_command(c);
  if (!info) return usage_text();
  std::string text = fmt::format("Usage: {}\n\n{}\n\nFlags:\n", info->synopsis, info->summary);
  if (accepts(c, "--config")) text += "  -c, --config FILE       the YAML configuration file\n";
  if (accepts(c, "--path")) text += "  -p, --path URL          a plain path, file:///abs/path or s3://bucket/prefix?...\n";
  if (accepts(c, "--backup-id")) text += "  -b, --backup-id ID      the backup set's id\n";
  if (c == command::describe || c == command::list || c == command::prune || c == command::reset_offsets)
    text += "  -f, --format text|json  output format (default text)\n";
  if (c == command::prune) {
    text += "      --keep-last N       never delete the newest N backups (a floor; 0 only with --max-age-days)\n";
    text += "      --max-age-days D    delete only backups last written more than D days ago\n";
    text += "      --dry-run           print what would be deleted, delete nothing\n";
  }
  if (c == command::config) text += "  -f, --format yaml|json  output format (default yaml)\n";
  if (accepts(c, "--dry-run") && c != command::prune)
    text += "      --dry-run           plan and report, write nothing\n";
  if (accepts(c, "--deep")) text += "      --deep              download and verify every segment\n";
  text += "\nGlobal flags: --log-level error|warn|info|debug, --log-format text|json, --no-progress, --summary-file "
          "PATH\n";
  return text;
}

namespace {

/// The first word: `help` or a command name.
std::optional<kb::error> take_command(const std::string& arg, parsed_args& out) {
  if (arg == "help") {
    out.help = true;
    return std::nullopt;
  }
  const auto* info = find_command(arg);
  if (!info) {
    if (out.help) return usage_error(command::none, fmt::format("unknown command '{}'", arg));
    return usage_error(command::none,
                       fmt::format("unknown command '{}'; commands: backup, restore, list, describe, "
                                   "validate, config, prune, reset-offsets",
                                   arg));
  }
  out.cmd = info->cmd;
  return std::nullopt;
}

/// What a command given without its required flags (or with a bad --format) is missing.
std::optional<kb::error> missing_flags(const parsed_args& out) {
  const auto require = [&](const std::string& value, std::string_view flag) -> std::optional<kb::error> {
    if (!value.empty()) return std::nullopt;
    return usage_error(out.cmd, fmt::format("'{}' needs {}", command_name(out.cmd), flag));
  };
  std::optional<kb::error> missing;
  switch (out.cmd) {
    case command::backup:
    case command::restore:
      missing = require(out.config_path, "--config FILE");
      break;
    case command::reset_offsets:
      missing = require(out.config_path, "--config FILE");
      if (!missing && !out.format.empty() && out.format != "text" && out.format != "json") {
        missing = usage_error(out.cmd, fmt::format("--format '{}' is not one of text, json", out.format));
      }
      break;
    case command::config:
      missing = require(out.config_path, "--config FILE");
      if (!missing && !out.format.empty() && out.format != "yaml" && out.format != "json") {
        missing = usage_error(out.cmd, fmt::format("--format '{}' is not one of yaml, json", out.format));
      }
      break;
    case command::list:
      missing = require(out.path, "--path URL");
      break;
    case command::describe:
      missing = require(out.path, "--path URL");
      if (!missing) missing = require(out.backup_id, "--backup-id ID");
      if (!missing && !out.format.empty() && out.format != "text" && out.format != "json") {
        missing = usage_error(out.cmd, fmt::format("--format '{}' is not one of text, json", out.format));
      }
      break;
    case command::validate:
      missing = require(out.path, "--path URL");
      if (!missing) missing = require(out.backup_id, "--backup-id ID");
      break;
    case command::prune:
      missing = require(out.path, "--path URL");
      if (!missing && !out.keep_last) {
        missing = usage_error(out.cmd, "'prune' needs --keep-last N (the newest N backups are always kept; "
                                       "0 only together with --max-age-days)");
      }
      if (!missing && *out.keep_last == 0 && !out.max_age_days) {
        missing = usage_error(out.cmd, "--keep-last 0 without --max-age-days would delete every backup; keep at "
                                       "least one or give --max-age-days D");
      }
      if (!missing && !out.format.empty() && out.format != "text" && out.format != "json") {
        missing = usage_error(out.cmd, fmt::format("--format '{}' is not one of text, json", out.format));
      }
      break;
    case command::none:
      break;
  }
  return missing;
}

}  // namespace

kb::result<parsed_args> parse_args(const std::vector<std::string>& args) {
  parsed_args out;
  bool end_of_flags = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (end_of_flags || arg.empty() || arg[0] != '-' || arg == "-") {
      if (out.cmd == command::none) {
        if (auto bad = take_command(arg, out)) return kb::fail(std::move(*bad));
        continue;
      }
      return kb::fail(usage_error(out.cmd, fmt::format("unexpected argument '{}'", arg)));
    }
    if (arg == "--") {
      end_of_flags = true;
      continue;
    }
    std::string flag = arg;
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      flag = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    flag = canonical_flag(flag);

    std::string value;
    if (takes_value(flag)) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return kb::fail(usage_error(out.cmd, fmt::format("{} needs a value", flag)));
      }
    } else if (inline_value) {
      return kb::fail(usage_error(out.cmd, fmt::format("{} takes no value", flag)));
    }

    // Global flags.
    if (flag == "--help") {
      out.help = true;
    } else if (flag == "--version") {
      out.version = true;
    } else if (flag == "--no-progress") {
      out.global.no_progress = true;
    } else if (flag == "--summary-file") {
      if (value.empty()) return kb::fail(usage_error(out.cmd, "--summary-file needs a file path"));
      out.global.summary_file = value;
    } else if (flag == "--log-level") {
      kb::log::level lvl{};
      if (!kb::log::parse_level(value, lvl)) {
        return kb::fail(usage_error(
            out.cmd, fmt::format("--log-level '{}' is not one of error, warn, info, debug", value)));
      }
      out.global.log_level = lvl;
    } else if (flag == "--log-format") {
      kb::log::format f{};
      if (!kb::log::parse_format(value, f)) {
        return kb::fail(usage_error(out.cmd,
                                    fmt::format("--log-format '{}' is not one of text, json", value)));
      }
      out.global.log_format = f;
    } else if (out.cmd == command::none) {
      return kb::fail(usage_error(command::none,
                                  fmt::format("unknown flag '{}' (or it belongs after a command)", arg)));
    } else if (!accepts(out.cmd, flag)) {
      return kb::fail(usage_error(
          out.cmd, fmt::format("unknown flag '{}' for '{}'", flag, command_name(out.cmd))));
    } else if (flag == "--config") {
      out.config_path = value;
    } else if (flag == "--path") {
      out.path = value;
    } else if (flag == "--backup-id") {
      out.backup_id = value;
    } else if (flag == "--format") {
      out.format = value;
    } else if (flag == "--dry-run") {
      out.dry_run = true;
    } else if (flag == "--deep") {
      out.deep = true;
    } else if (flag == "--keep-last" || flag == "--max-age-days") {
      const auto n = parse_count(value);
      if (!n) {
        return kb::fail(usage_error(out.cmd, fmt::format("{} '{}' is not a whole number of {} (0 or more)", flag, value,
                                                         flag == "--keep-last" ? "backups" : "days")));
      }
      (flag == "--keep-last" ? out.keep_last : out.max_age_days) = *n;
    }
  }

  if (out.help || out.version) return out;
  if (out.cmd == command::none) {
    return kb::fail(usage_error(command::none, "no command given"));
  }
  if (auto missing = missing_flags(out)) return kb::fail(std::move(*missing));
  if (out.format.empty()) out.format = out.cmd == command::config ? "yaml" : "text";
  return out;
}

}  // namespace kb::cli
