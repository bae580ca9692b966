// What the command line accepts and refuses now that CLI11 tokenizes it (issue #13 item 3):
// the value forms, numbers, unknown commands, repeated flags, `help`, and that parsing prints nothing.
#include <algorithm>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/args.hpp"

namespace kb::cli {
namespace {

using ::testing::HasSubstr;

kb::result<parsed_args> parse(const std::vector<std::string>& args) { return parse_args(args); }

/// The parse fails as a usage error (exit 2) whose message holds `phrase` and the usage hint.
void expect_usage_error(const std::vector<std::string>& args, std::string_view phrase, std::string_view usage) {
  const auto r = parse(args);
  ASSERT_FALSE(r) << ::testing::PrintToString(args);
  EXPECT_TRUE(r.error().is(kb::errc::invalid_argument));
  EXPECT_EQ(kb::exit_code_for(r.error()), kb::exit_code::usage);
  EXPECT_THAT(r.error().message, HasSubstr(phrase)) << ::testing::PrintToString(args);
  EXPECT_THAT(r.error().message, HasSubstr(fmt::format("usage: {}", usage))) << ::testing::PrintToString(args);
}

TEST(args_forms, keep_last_with_equals_or_space_and_globals_anywhere) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"prune", "--path", "/b", "--keep-last=3", "--max-age-days=30"},
           {"prune", "--path", "/b", "--keep-last", "3", "--max-age-days", "30"},
           {"prune", "-p", "/b", "--keep-last", "3", "--max-age-days", "30"},
           {"--no-progress", "prune", "--keep-last", "3", "--path=/b", "--max-age-days", "30"},
       }) {
    const auto a = parse(args);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->cmd, command::prune);
    EXPECT_EQ(a->path, "/b");
    EXPECT_EQ(a->keep_last, 3u);
    EXPECT_EQ(a->max_age_days, 30u);
  }
  const auto none = parse({"prune", "--path", "/b", "--keep-last", "2"});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->max_age_days);  // absent stays absent, not 0
}

TEST(args_forms, counts_are_plain_decimal_within_32_bits) {
  // CLI11's own conversion would read "0x10" as 16 and "010" as octal 8; ours is decimal only.
  const auto leading_zero = parse({"prune", "--path", "/b", "--keep-last", "010"});
  ASSERT_TRUE(leading_zero) << leading_zero.error().message;
  EXPECT_EQ(leading_zero->keep_last, 10u);
  const auto biggest = parse({"prune", "--path", "/b", "--keep-last", "1", "--max-age-days", "4294967295"});
  ASSERT_TRUE(biggest) << biggest.error().message;
  EXPECT_EQ(biggest->max_age_days, 4294967295u);
  for (const std::string bad : {"-1", "-0", "4294967296", "99999999999999999999", "0x10", "+3", " 3", "3 ", "3.0",
                                "1e3", "three", ""}) {
    expect_usage_error({"prune", "--path", "/b", "--keep-last", bad}, "not a whole number of backups",
                       "kafka-backup prune");
    expect_usage_error({"prune", "--path", "/b", "--keep-last", "1", "--max-age-days", bad},
                       "not a whole number of days", "kafka-backup prune");
  }
  expect_usage_error({"prune", "--path", "/b", "--keep-last", "-1"}, "--keep-last", "kafka-backup prune");
}

TEST(args_forms, unknown_commands_are_refused_without_prefix_or_case_guessing) {
  for (const std::string word : {"frobnicate", "BACKUP", "back", "reset_offsets"}) {
    expect_usage_error({word}, fmt::format("unknown command '{}'", word), "kafka-backup <command> [flags]");
    expect_usage_error({"--log-level", "debug", word, "--config", "x"}, "unknown command",
                       "kafka-backup <command> [flags]");
  }
  expect_usage_error({"--conf", "x"}, "unknown flag '--conf'", "kafka-backup <command> [flags]");
  expect_usage_error({"list", "--path", "/b", "--pat", "x"}, "unknown flag '--pat' for 'list'",
                     "kafka-backup list");
}

TEST(args_forms, repeated_flags_take_the_last_value_but_two_commands_are_refused) {
  const auto a = parse({"--log-level", "info", "config", "-c", "a.yaml", "--config", "b.yaml", "--format", "json",
                        "-f", "yaml", "--log-level=debug", "--no-progress", "--no-progress"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->config_path, "b.yaml");
  EXPECT_EQ(a->format, "yaml");
  EXPECT_EQ(a->global.log_level, kb::log::level::debug);
  EXPECT_TRUE(a->global.no_progress);
  const auto twice = parse({"restore", "-c", "r.yaml", "--dry-run", "--dry-run"});
  ASSERT_TRUE(twice) << twice.error().message;
  EXPECT_TRUE(twice->dry_run);
  expect_usage_error({"backup", "list", "--config", "x"}, "unexpected argument 'list'", "kafka-backup backup");
  expect_usage_error({"backup", "--config", "x", "backup"}, "unexpected argument 'backup'", "kafka-backup backup");
}

TEST(args_forms, missing_values_and_values_on_switches_name_the_flag) {
  expect_usage_error({"backup", "--config"}, "--config", "kafka-backup backup");
  expect_usage_error({"list", "-p"}, "--path", "kafka-backup list");
  expect_usage_error({"list", "--path", "/b", "--log-level"}, "--log-level", "kafka-backup list");
  expect_usage_error({"restore", "-c", "r.yaml", "--dry-run=yes"}, "--dry-run takes no value",
                     "kafka-backup restore");
  expect_usage_error({"list", "--path", "/b", "--no-progress=0"}, "--no-progress takes no value",
                     "kafka-backup list");
  // CLI11 alone would read `--flag=` as `--flag` and take the next word as the value.
  expect_usage_error({"backup", "--config=", "x"}, "--config has an empty value after '='", "kafka-backup backup");
  expect_usage_error({"--summary-file=", "backup", "-c", "x"}, "--summary-file has an empty value after '='",
                     "kafka-backup <command> [flags]");
  expect_usage_error({"--summary-file", "", "backup", "-c", "x"}, "--summary-file: the value is empty",
                     "kafka-backup backup");
  expect_usage_error({"--log-format", "xml", "list", "--path", "/b"}, "--log-format: 'xml' is not one of text, json",
                     "kafka-backup list");
}

TEST(args_forms, help_word_and_flag_and_version_anywhere) {
  const auto bare = parse({"help"});
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_TRUE(bare->help);
  EXPECT_EQ(bare->cmd, command::none);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"help", "describe"}, {"describe", "--help"}, {"-h", "describe"}, {"describe", "-p", "/b", "-h"}}) {
    const auto a = parse(args);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_TRUE(a->help) << ::testing::PrintToString(args);
    EXPECT_EQ(a->cmd, command::describe) << ::testing::PrintToString(args);
  }
  expect_usage_error({"help", "frobnicate"}, "unknown command 'frobnicate'", "kafka-backup <command> [flags]");
  const auto version = parse({"list", "-V"});
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_TRUE(version->version);
}

TEST(args_forms, double_dash_ends_the_flags) {
  const auto a = parse({"list", "--path", "/b", "--"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->path, "/b");
  const auto r = parse({"list", "--path", "/b", "--", "--deep"});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("'--deep'"));
}

TEST(args_forms, parsing_prints_nothing) {
  // CLI11 prints help and errors itself only through App::exit, which the parser never calls.
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  EXPECT_TRUE(parse({"--help"}));
  EXPECT_TRUE(parse({"prune", "--help"}));
  EXPECT_FALSE(parse({"--bogus"}));
  EXPECT_FALSE(parse({"prune", "--keep-last", "x"}));
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(args_forms, every_command_help_lists_exactly_the_flags_it_parses) {
  // The help text and the parser come from one table: each flag shown is accepted, and a
  // flag of another command is not.
  const std::vector<std::pair<command, std::vector<std::string>>> accepted{
      {command::backup, {"--config"}},
      {command::restore, {"--config", "--dry-run"}},
      {command::list, {"--path", "--format"}},
      {command::describe, {"--path", "--backup-id", "--format"}},
      {command::validate, {"--path", "--backup-id", "--deep"}},
      {command::config, {"--config", "--format"}},
      {command::prune, {"--path", "--format", "--keep-last", "--max-age-days", "--dry-run"}},
      {command::reset_offsets, {"--config", "--format", "--dry-run"}},
  };
  const std::vector<std::string> all{"--config", "--path",      "--backup-id",    "--format",
                                     "--dry-run", "--deep",     "--keep-last",    "--max-age-days"};
  for (const auto& [cmd, flags] : accepted) {
    const auto usage = command_usage(cmd);
    const auto text = usage.substr(usage.find("Flags:"), usage.find("Global flags:") - usage.find("Flags:"));
    for (const auto& flag : all) {
      const bool takes = std::find(flags.begin(), flags.end(), flag) != flags.end();
      EXPECT_EQ(text.find(flag + " ") != std::string::npos || text.find(flag + "\n") != std::string::npos, takes)
          << command_name(cmd) << " " << flag;
      std::vector<std::string> args{std::string(command_name(cmd)), "--help", flag};
      if (flag == "--keep-last" || flag == "--max-age-days") args.emplace_back("1");
      else if (flag == "--format") args.emplace_back("json");
      else if (flag != "--dry-run" && flag != "--deep") args.emplace_back("v");
      const auto r = parse(args);
      EXPECT_EQ(static_cast<bool>(r), takes) << command_name(cmd) << " " << flag;
    }
  }
}

}  // namespace
}  // namespace kb::cli
