#include "cli/args.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <optional>
#include <span>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace kb::cli {
namespace {

/// The parsed_args field a subcommand flag sets.
enum class field { config, path, backup_id, format, dry_run, deep, keep_last, max_age_days };

/// One subcommand flag: what CLI11 parses and what the help text shows, from one place.
struct flag_spec {
  field target;
  char short_name;             ///< 0: long form only
  std::string_view long_name;  ///< without the leading "--"
  std::string_view value;      ///< the value's placeholder ("" for a switch)
  std::string_view help;
  std::string_view choices{};  ///< "a, b": the only values accepted ("" for any)
  bool required = false;
};

constexpr flag_spec k_config{field::config, 'c', "config", "FILE", "the YAML configuration file", {}, true};
constexpr flag_spec k_path{field::path, 'p', "path", "URL", "a plain path, file:///abs/path or s3://bucket/prefix?...",
                           {}, true};
constexpr flag_spec k_backup_id{field::backup_id, 'b', "backup-id", "ID", "the backup set's id", {}, true};
constexpr flag_spec k_format_text{field::format, 'f', "format", "text|json", "output format (default text)",
                                  "text, json"};
// list checks its --format itself (cmd_inspect), with its own message; the parser takes any value.
constexpr flag_spec k_format_list{field::format, 'f', "format", "text|json", "output format (default text)"};
constexpr flag_spec k_format_yaml{field::format, 'f', "format", "yaml|json", "output format (default yaml)",
                                  "yaml, json"};
constexpr flag_spec k_dry_run{field::dry_run, 0, "dry-run", "", "plan and report, write nothing"};
constexpr flag_spec k_deep{field::deep, 0, "deep", "", "download and verify every segment"};
constexpr flag_spec k_keep_last{field::keep_last, 0, "keep-last", "N",
                                "never delete the newest N backups (a floor; 0 only with --max-age-days)"};
constexpr flag_spec k_max_age_days{field::max_age_days, 0, "max-age-days", "D",
                                   "delete only backups last written more than D days ago"};
constexpr flag_spec k_prune_dry_run{field::dry_run, 0, "dry-run", "", "print what would be deleted, delete nothing"};

constexpr std::array k_backup_flags{k_config};
constexpr std::array k_restore_flags{k_config, k_dry_run};
constexpr std::array k_list_flags{k_path, k_format_list};
constexpr std::array k_describe_flags{k_path, k_backup_id, k_format_text};
constexpr std::array k_validate_flags{k_path, k_backup_id, k_deep};
constexpr std::array k_config_flags{k_config, k_format_yaml};
constexpr std::array k_prune_flags{k_path, k_format_text, k_keep_last, k_max_age_days, k_prune_dry_run};
constexpr std::array k_reset_offsets_flags{k_config, k_format_text, k_dry_run};

struct command_info {
  command cmd;
  std::string_view name;
  std::string_view synopsis;
  std::string_view summary;
  std::span<const flag_spec> flags;
};

constexpr std::array<command_info, 8> k_commands{{
    {command::backup, "backup", "kafka-backup backup --config FILE",
     "Back up the topics of `source:` to `storage:` (one-shot, snapshot or continuous).", k_backup_flags},
    {command::restore, "restore", "kafka-backup restore --config FILE [--dry-run]",
     "Restore a backup set into the cluster of `target:`.", k_restore_flags},
    {command::list, "list", "kafka-backup list --path URL [--format text|json]",
     "List the backup sets under a storage location.", k_list_flags},
    {command::describe, "describe",
     "kafka-backup describe --path URL --backup-id ID [--format text|json]",
     "Show a backup set's topics, partitions, offsets, sizes and gaps.", k_describe_flags},
    {command::validate, "validate", "kafka-backup validate --path URL --backup-id ID [--deep]",
     "Check a backup set's integrity (--deep reads and verifies every segment).", k_validate_flags},
    {command::config, "config", "kafka-backup config --config FILE [--format yaml|json]",
     "Print the resolved configuration with defaults filled in and secrets as ***.", k_config_flags},
    {command::prune, "prune",
     "kafka-backup prune --path URL --keep-last N [--max-age-days D] [--dry-run] [--format text|json]",
     "Delete whole old backup ids: all but the newest N, or (with --max-age-days) those older than D days\n"
     "            beyond the newest N. Backups a running backup holds (lease) are never deleted.",
     k_prune_flags},
    {command::reset_offsets, "reset-offsets",
     "kafka-backup reset-offsets --config FILE [--dry-run] [--format text|json]",
     "Reset consumer groups' committed offsets (to-earliest, to-latest, to-timestamp, to-offset) in the\n"
     "            cluster of `source:`; the groups must be inactive. See docs/reset-offsets.md.",
     k_reset_offsets_flags},
}};

const command_info* find_command(command c) {
  for (const auto& info : k_commands) {
    if (info.cmd == c) return &info;
  }
  return nullptr;
}

kb::error usage_error(command c, std::string_view message) {
  const auto synopsis = command_synopsis(c);
  const auto help = c == command::none ? std::string("kafka-backup --help")
                                       : fmt::format("kafka-backup {} --help", command_name(c));
  return kb::error{kb::make_error_code(kb::errc::invalid_argument),
                   fmt::format("{}\nusage: {}\nRun '{}' for more.", message, synopsis, help)};
}

std::string cli11_names(const flag_spec& f) {
  return f.short_name ? fmt::format("-{},--{}", f.short_name, f.long_name) : fmt::format("--{}", f.long_name);
}

/// CLI11 check: a whole number of 0 or more in decimal (CLI11's own conversion would also take
/// "0x10", octal "010" and " 3"); rewritten to its plain form so the conversion sees exactly that.
CLI::Validator whole_number(std::string_view unit) {
  return CLI::Validator(
      [unit](std::string& text) -> std::string {
        std::uint32_t n = 0;
        const auto* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, n);
        if (text.empty() || text[0] == '+' || ec != std::errc{} || ptr != end) {
          return fmt::format("'{}' is not a whole number of {} (0 or more, at most {})", text, unit,
                             std::numeric_limits<std::uint32_t>::max());
        }
        text = std::to_string(n);
        return {};
      },
      "N");
}

/// CLI11 check: the value is one of `choices` ("a, b, c").
CLI::Validator one_of(std::string_view choices) {
  return CLI::Validator(
      [choices](const std::string& text) -> std::string {
        std::string_view rest = choices;
        while (!rest.empty()) {
          const auto comma = rest.find(", ");
          if (rest.substr(0, comma) == text) return {};
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
        }
        return fmt::format("'{}' is not one of {}", text, choices);
      },
      "");
}

/// CLI11 check: a non-empty value (a path).
CLI::Validator non_empty(std::string_view what) {
  return CLI::Validator(
      [what](const std::string& text) -> std::string {
        return text.empty() ? fmt::format("the value is empty; give {}", what) : std::string{};
      },
      "");
}

/// The values CLI11 fills before they are checked and copied into parsed_args.
struct raw_values {
  std::string log_level;
  std::string log_format;
  std::string summary_file;
  std::uint32_t keep_last = 0;
  std::uint32_t max_age_days = 0;
};

/// Declares one subcommand flag on `sub`, bound to its parsed_args field.
CLI::Option* add_flag(CLI::App& sub, const flag_spec& f, parsed_args& out, raw_values& raw) {
  const auto names = cli11_names(f);
  CLI::Option* opt = nullptr;
  switch (f.target) {
    case field::config: opt = sub.add_option(names, out.config_path); break;
    case field::path: opt = sub.add_option(names, out.path); break;
    case field::backup_id: opt = sub.add_option(names, out.backup_id); break;
    case field::format: opt = sub.add_option(names, out.format); break;
    case field::dry_run: return sub.add_flag(names, out.dry_run)->disable_flag_override();
    case field::deep: return sub.add_flag(names, out.deep)->disable_flag_override();
    case field::keep_last: opt = sub.add_option(names, raw.keep_last)->transform(whole_number("backups")); break;
    case field::max_age_days: opt = sub.add_option(names, raw.max_age_days)->transform(whole_number("days")); break;
  }
  opt->type_name(std::string(f.value));  // CLI11 names it in "--config: 1 required FILE missing"
  if (!f.choices.empty()) opt->check(one_of(f.choices));
  // The last of a repeated flag wins, as with most Unix tools.
  return opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

/// The CLI11 model of the command line: global flags on the root (accepted after the
/// subcommand too, by fallthrough), one subcommand per command plus `help [COMMAND]`.
/// Help and unknown words are not CLI11's business: we print our own texts and report the
/// extras with a usage hint.
struct command_line {
  CLI::App app{"kafka-backup"};
  CLI::App* help = nullptr;
  std::array<CLI::App*, k_commands.size()> subs{};
  CLI::Option* keep_last = nullptr;
  CLI::Option* max_age_days = nullptr;
  CLI::Option* summary_file = nullptr;

  command_line(parsed_args& out, raw_values& raw) {
    app.set_help_flag();
    app.allow_extras();
    app.fallthrough();
    app.require_subcommand(0, 2);  // a command, or `help` and a command
    app.add_flag("-h,--help", out.help)->disable_flag_override();
    app.add_flag("-V,--version", out.version)->disable_flag_override();
    app.add_flag("--no-progress", out.global.no_progress)->disable_flag_override();
    app.add_option("--log-level", raw.log_level)
        ->type_name("LEVEL")
        ->check(one_of("error, warn, info, debug"))
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--log-format", raw.log_format)
        ->type_name("FORMAT")
        ->check(one_of("text, json"))
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    summary_file = app.add_option("--summary-file", raw.summary_file)
                       ->type_name("PATH")
                       ->check(non_empty("a file path"))
                       ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    help = app.add_subcommand("help");
    for (std::size_t i = 0; i < k_commands.size(); ++i) {
      subs[i] = app.add_subcommand(std::string(k_commands[i].name));
      for (const auto& f : k_commands[i].flags) {
        auto* opt = add_flag(*subs[i], f, out, raw);
        if (f.target == field::keep_last) keep_last = opt;
        if (f.target == field::max_age_days) max_age_days = opt;
      }
    }
  }

  /// The command given (the first one when `help` came first); none when there is none.
  [[nodiscard]] command chosen() const {
    for (std::size_t i = 0; i < subs.size(); ++i) {
      if (subs[i]->count() > 0) return k_commands[i].cmd;
    }
    return command::none;
  }
};

/// CLI11's message, with its one obscure wording (a switch given `=value`) made plain.
std::string cli11_message(const CLI::Error& e) {
  std::string_view text = e.what();
  constexpr std::string_view k_override = " was given a disallowed flag override";  // CLI11 2.x
  if (text.ends_with(k_override)) {
    return fmt::format("--{} takes no value", text.substr(0, text.size() - k_override.size()));
  }
  return std::string(text);
}

/// CLI11 reads `--flag=` like `--flag` and would take the next word as its value; an empty value
/// given with `=` is refused instead. Words after `--` are not flags.
std::optional<std::string> empty_after_equals(const std::vector<std::string>& args) {
  for (const auto& word : args) {
    if (word == "--") break;
    if (word.size() > 3 && word.starts_with("--") && word.find('=') == word.size() - 1) {
      return word.substr(0, word.size() - 1);
    }
  }
  return std::nullopt;
}

/// The first word CLI11 could not place, as an error (`--` only ends the flags).
std::optional<kb::error> check_extras(const command_line& line, const parsed_args& out) {
  for (const auto& word : line.app.remaining(true)) {
    if (word == "--") continue;
    if (!word.empty() && word[0] == '-' && word != "-") {
      if (out.cmd == command::none) {
        return usage_error(command::none, fmt::format("unknown flag '{}' (or it belongs after a command)", word));
      }
      const auto flag = word.substr(0, word.find('='));
      return usage_error(out.cmd, fmt::format("unknown flag '{}' for '{}'", flag, command_name(out.cmd)));
    }
    if (out.cmd != command::none) return usage_error(out.cmd, fmt::format("unexpected argument '{}'", word));
    if (out.help) return usage_error(command::none, fmt::format("unknown command '{}'", word));
    return usage_error(command::none, fmt::format("unknown command '{}'; commands: backup, restore, list, "
                                                  "describe, validate, config, prune, reset-offsets",
                                                  word));
  }
  return std::nullopt;
}

/// Two commands (`backup list`, or one twice): only `help COMMAND` names two words.
std::optional<kb::error> check_commands(const command_line& line, const parsed_args& out) {
  bool seen_command = false;
  for (const auto* sub : line.app.get_subcommands()) {
    if (sub == line.help) continue;
    if (!seen_command && sub->count() == 1) {
      seen_command = true;
      continue;
    }
    return usage_error(out.cmd, fmt::format("unexpected argument '{}'", sub->get_name()));
  }
  return std::nullopt;
}

/// What a command given without its required flags is missing.
std::optional<kb::error> missing_flags(const parsed_args& out) {
  const auto* info = find_command(out.cmd);
  if (!info) return usage_error(command::none, "no command given");
  for (const auto& f : info->flags) {
    if (!f.required) continue;
    const std::string& value = f.target == field::config ? out.config_path
                               : f.target == field::path ? out.path
                                                         : out.backup_id;
    if (value.empty()) {
      return usage_error(out.cmd, fmt::format("'{}' needs --{} {}", info->name, f.long_name, f.value));
    }
  }
  if (out.cmd == command::prune) {
    if (!out.keep_last) {
      return usage_error(out.cmd, "'prune' needs --keep-last N (the newest N backups are always kept; "
                                  "0 only together with --max-age-days)");
    }
    if (*out.keep_last == 0 && !out.max_age_days) {
      return usage_error(out.cmd, "--keep-last 0 without --max-age-days would delete every backup; keep at "
                                  "least one or give --max-age-days D");
    }
  }
  return std::nullopt;
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
  for (const auto& f : info->flags) {
    const auto left = fmt::format("{}--{}{}{}", f.short_name ? fmt::format("-{}, ", f.short_name) : "    ",
                                  f.long_name, f.value.empty() ? "" : " ", f.value);
    text += fmt::format("  {:<22}  {}\n", left, f.help);
  }
  text += "\nGlobal flags: --log-level error|warn|info|debug, --log-format text|json, --no-progress, --summary-file "
          "PATH\n";
  return text;
}

kb::result<parsed_args> parse_args(const std::vector<std::string>& args) {
  parsed_args out;
  raw_values raw;
  command_line line(out, raw);
  std::optional<kb::error> failed;
  try {
    line.app.parse(std::vector<std::string>(args.rbegin(), args.rend()));  // CLI11 takes them reversed
  } catch (const CLI::Error& e) {
    // A flag without its value, a bad value: CLI11's message names the flag.
    failed = usage_error(line.chosen(), cli11_message(e));
  }
  if (const auto flag = empty_after_equals(args)) {
    return kb::fail(usage_error(line.chosen(), fmt::format("{} has an empty value after '='", *flag)));
  }
  if (failed) return kb::fail(std::move(*failed));
  out.cmd = line.chosen();
  if (line.help->count() > 0) out.help = true;
  if (auto bad = check_commands(line, out)) return kb::fail(std::move(*bad));
  if (auto bad = check_extras(line, out)) return kb::fail(std::move(*bad));
  // Both were checked by one_of; the sets there are those of kb::log.
  if (kb::log::level lvl{}; kb::log::parse_level(raw.log_level, lvl)) out.global.log_level = lvl;
  if (kb::log::format f{}; kb::log::parse_format(raw.log_format, f)) out.global.log_format = f;
  if (line.summary_file->count() > 0) out.global.summary_file = raw.summary_file;
  if (line.keep_last->count() > 0) out.keep_last = raw.keep_last;
  if (line.max_age_days->count() > 0) out.max_age_days = raw.max_age_days;

  if (out.help || out.version) return out;
  if (auto missing = missing_flags(out)) return kb::fail(std::move(*missing));
  if (out.format.empty()) out.format = out.cmd == command::config ? "yaml" : "text";
  return out;
}

}  // namespace kb::cli
