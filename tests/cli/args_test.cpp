#include "cli/args.hpp"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/commands.hpp"

namespace kb::cli {
namespace {

using ::testing::HasSubstr;

kb::result<parsed_args> parse(std::vector<std::string> args) { return parse_args(args); }

struct run_result {
  int code;
  std::string out;
  std::string err;
};

run_result run_with(std::vector<std::string> args, std::map<std::string, std::string> vars = {}) {
  std::ostringstream out;
  std::ostringstream err;
  const env_lookup env = [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  const int code = run(args, out, err, env);
  return {code, out.str(), err.str()};
}

TEST(args, backup_with_config) {
  const auto a = parse({"backup", "--config", "b.yaml"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->cmd, command::backup);
  EXPECT_EQ(a->config_path, "b.yaml");
}

TEST(args, short_and_equals_forms) {
  const auto a = parse({"describe", "-p", "s3://b/p", "--backup-id=x", "-f", "json"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->cmd, command::describe);
  EXPECT_EQ(a->path, "s3://b/p");
  EXPECT_EQ(a->backup_id, "x");
  EXPECT_EQ(a->format, "json");
}

TEST(args, global_flags_before_and_after_command) {
  const auto a = parse({"--log-level", "debug", "restore", "-c", "r.yaml", "--dry-run",
                        "--log-format=json", "--no-progress"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->cmd, command::restore);
  EXPECT_TRUE(a->dry_run);
  EXPECT_EQ(a->global.log_level, kb::log::level::debug);
  EXPECT_EQ(a->global.log_format, kb::log::format::json);
  EXPECT_TRUE(a->global.no_progress);
}

TEST(args, validate_deep_and_defaults) {
  const auto a = parse({"validate", "--path", "/b", "--backup-id", "x", "--deep"});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->deep);
  EXPECT_EQ(a->format, "text");
  const auto c = parse({"config", "--config", "c.yaml"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->format, "yaml");
}

TEST(args, prune_counts_and_their_errors) {
  const auto a = parse({"prune", "--path", "/b", "--keep-last", "3", "--max-age-days=30", "--dry-run"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->cmd, command::prune);
  EXPECT_EQ(a->keep_last, 3u);
  EXPECT_EQ(a->max_age_days, 30u);
  EXPECT_TRUE(a->dry_run);
  EXPECT_EQ(a->format, "text");
  const auto age_only = parse({"prune", "--path", "/b", "--keep-last", "0", "--max-age-days", "7"});
  ASSERT_TRUE(age_only);
  EXPECT_EQ(age_only->keep_last, 0u);
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"prune", "--path", "/b"},                                  // --keep-last is required
           {"prune", "--path", "/b", "--keep-last", "0"},              // would delete everything
           {"prune", "--path", "/b", "--keep-last", "1x"},
           {"prune", "--path", "/b", "--keep-last", "-1"},
           {"prune", "--path", "/b", "--keep-last", "9999999999"},      // more than 9 digits
           {"prune", "--path", "/b", "--keep-last", "1", "--max-age-days", ""},
           {"prune", "--keep-last", "1"},                              // --path is required
           {"list", "--path", "/b", "--keep-last", "1"},               // prune's flag only
       }) {
    const auto r = parse(bad);
    ASSERT_FALSE(r) << bad.back();
    EXPECT_TRUE(r.error().is(errc::invalid_argument));
  }
}

TEST(args, errors_are_invalid_argument_with_usage) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"backup"},
           {"backup", "--config"},
           {"backup", "--config", "x", "--deep"},
           {"describe", "--path", "p"},
           {"describe", "--path", "p", "--backup-id", "x", "--format", "xml"},
           {"list", "--path", "p", "extra"},
           {"--log-level", "loud", "list", "--path", "p"},
           {"--bogus"},
           {"restore", "--dry-run=yes", "-c", "x"},
       }) {
    const auto a = parse(args);
    ASSERT_FALSE(a) << ::testing::PrintToString(args);
    EXPECT_TRUE(a.error().is(kb::errc::invalid_argument));
    EXPECT_EQ(kb::exit_code_for(a.error()), kb::exit_code::usage);
    EXPECT_THAT(a.error().message, HasSubstr("usage: ")) << ::testing::PrintToString(args);
  }
  EXPECT_THAT(parse({"backup", "--config", "x", "--deep"}).error().message,
              HasSubstr("unknown flag '--deep' for 'backup'"));
  EXPECT_THAT(parse({"frobnicate"}).error().message, HasSubstr("unknown command 'frobnicate'"));
}

TEST(args, help_and_version) {
  EXPECT_TRUE(parse({"--help"})->help);
  EXPECT_TRUE(parse({"-h"})->help);
  EXPECT_TRUE(parse({"--version"})->version);
  const auto a = parse({"backup", "--help"});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->help);
  EXPECT_EQ(a->cmd, command::backup);
}

TEST(run, help_lists_every_command_and_the_exit_codes) {
  const auto r = run_with({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* cmd : {"backup", "restore", "list", "describe", "validate", "config", "prune"}) {
    EXPECT_THAT(r.out, HasSubstr(cmd));
  }
  EXPECT_EQ(r.out.find("not implemented"), std::string::npos);
  EXPECT_THAT(r.out, HasSubstr("4 integrity failure"));
  EXPECT_THAT(r.out, HasSubstr("--log-level"));
}

TEST(run, version_prints_project_version) {
  const auto r = run_with({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("kafka-backup ") + KB_VERSION + "\n");
}

TEST(run, usage_errors_exit_2) {
  EXPECT_EQ(run_with({"--nope"}).code, 2);
  EXPECT_EQ(run_with({}).code, 2);
  const auto r = run_with({"list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: 'list' needs --path URL"));
  EXPECT_THAT(r.err, HasSubstr("usage: kafka-backup list --path URL"));
}

TEST(run, list_takes_a_format_and_rejects_an_unknown_one) {
  const auto bad = run_with({"list", "--path", "/tmp/x", "--format", "xml"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--format must be text or json, not 'xml'"));
  const auto help = run_with({"list", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("--format text|json"));
  EXPECT_EQ(help.out.find("not implemented"), std::string::npos);
}

TEST(run, missing_config_file_exits_2) {
  const auto r = run_with({"config", "--config", "/nonexistent/kb.yaml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read config file /nonexistent/kb.yaml"));
}

TEST(run, config_prints_redacted_yaml_and_json) {
  const std::string path = std::string(KB_CLI_TEST_DATA) + "/seed-secure-backup.yaml";
  const auto y = run_with({"config", "--config", path}, {{"KAFKA_PASSWORD", "p4ss-w0rd"}});
  EXPECT_EQ(y.code, 0) << y.err;
  EXPECT_THAT(y.out, HasSubstr("sasl_password: \"***\""));
  EXPECT_EQ(y.out.find("p4ss-w0rd"), std::string::npos);
  EXPECT_EQ(y.err.find("p4ss-w0rd"), std::string::npos);
  const auto j = run_with({"config", "--config", path, "--format", "json"}, {{"KAFKA_PASSWORD", "p4ss-w0rd"}});
  EXPECT_EQ(j.code, 0) << j.err;
  EXPECT_THAT(j.out, HasSubstr("\"sasl_password\":\"***\""));
  EXPECT_EQ(j.out.find("p4ss-w0rd"), std::string::npos);
}

TEST(run, backup_checks_the_config_then_its_tls_files_before_connecting) {
  const std::string path = std::string(KB_CLI_TEST_DATA) + "/seed-secure-backup.yaml";
  // The seed's certificate files do not exist here: a configuration error naming the file.
  const auto ok = run_with({"backup", "--config", path}, {{"KAFKA_PASSWORD", "x"}});
  EXPECT_EQ(ok.code, 2) << ok.err;
  EXPECT_THAT(ok.err, HasSubstr("/certs/ca.crt"));
  const auto wrong_mode = run_with({"restore", "--config", path}, {{"KAFKA_PASSWORD", "x"}});
  EXPECT_EQ(wrong_mode.code, 2);
  EXPECT_THAT(wrong_mode.err, HasSubstr("mode is backup but the command is 'restore'"));
  const auto unset = run_with({"backup", "--config", path});
  EXPECT_EQ(unset.code, 2);
  EXPECT_THAT(unset.err, HasSubstr("KAFKA_PASSWORD"));
}

TEST(args, reset_offsets_takes_config_dry_run_and_format) {
  const auto a = parse({"reset-offsets", "--config", "r.yaml", "--dry-run", "--format=json"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->cmd, command::reset_offsets);
  EXPECT_EQ(a->config_path, "r.yaml");
  EXPECT_TRUE(a->dry_run);
  EXPECT_EQ(a->format, "json");
  EXPECT_FALSE(parse({"reset-offsets"}));                                     // --config is required
  EXPECT_FALSE(parse({"reset-offsets", "-c", "r.yaml", "--format", "yaml"}));  // text|json only
  EXPECT_FALSE(parse({"reset-offsets", "-c", "r.yaml", "--path", "/b"}));      // not its flag
  EXPECT_NE(usage_text().find("reset-offsets --config FILE"), std::string::npos);
}

}  // namespace
}  // namespace kb::cli
