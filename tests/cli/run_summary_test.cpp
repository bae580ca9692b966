// The run summary: its JSON fields, the 4096-byte cap (errors cut from the end), the default
// path rule, the atomic write of a regular file and the in-place write of a bind-mounted one.
#include "cli/run_summary.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace kb::cli {
namespace {

run_summary sample() {
  run_summary s;
  s.command = "backup";
  s.backup_id = "daily";
  s.exit_code = 0;
  s.records = 300;
  s.bytes = 4096;
  s.partitions = 3;
  s.segments = 2;
  s.duration_seconds = 1.23456;
  return s;
}

TEST(run_summary, renders_every_field) {
  const auto text = render_run_summary(sample());
  ASSERT_EQ(text.back(), '\n');
  const auto v = boost::json::parse(text).as_object();
  EXPECT_EQ(v.at("command").as_string(), "backup");
  EXPECT_EQ(v.at("backup_id").as_string(), "daily");
  EXPECT_EQ(v.at("exit_code").to_number<int>(), 0);
  EXPECT_EQ(v.at("outcome").as_string(), "succeeded");
  EXPECT_EQ(v.at("records").to_number<std::uint64_t>(), 300u);
  EXPECT_EQ(v.at("bytes").to_number<std::uint64_t>(), 4096u);
  EXPECT_EQ(v.at("partitions").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(v.at("segments").to_number<std::uint64_t>(), 2u);
  EXPECT_DOUBLE_EQ(v.at("duration_seconds").to_number<double>(), 1.235);
  EXPECT_TRUE(v.at("errors").as_array().empty());
  EXPECT_FALSE(v.contains("errors_truncated"));
  EXPECT_FALSE(v.contains("restore_id"));
}

TEST(run_summary, outcome_follows_exit_code_and_interruption) {
  auto s = sample();
  s.interrupted = true;
  EXPECT_EQ(run_outcome(s), "stopped");
  s.exit_code = 3;
  EXPECT_EQ(run_outcome(s), "failed");
}

TEST(run_summary, escapes_errors_and_keeps_under_the_cap) {
  auto s = sample();
  s.exit_code = 1;
  s.errors.push_back("error: \"quoted\"\tand a \\ backslash");
  for (int i = 0; i < 200; ++i) s.errors.push_back(std::string(100, 'x') + std::to_string(i));
  const auto text = render_run_summary(s);
  EXPECT_LE(text.size(), termination_log_max_bytes);
  const auto v = boost::json::parse(text).as_object();
  EXPECT_TRUE(v.at("errors_truncated").as_bool());
  const auto& errs = v.at("errors").as_array();
  ASSERT_FALSE(errs.empty());
  EXPECT_EQ(errs.front().as_string(), "error: \"quoted\"\tand a \\ backslash");  // the first error is kept
  EXPECT_LT(errs.size(), 201u);
}

TEST(run_summary, one_huge_error_is_shortened) {
  auto s = sample();
  s.exit_code = 1;
  s.errors.push_back(std::string(10'000, 'e'));
  const auto text = render_run_summary(s, 1024);
  EXPECT_LE(text.size(), 1024u);
  const auto v = boost::json::parse(text).as_object();
  EXPECT_TRUE(v.at("errors_truncated").as_bool());
}

TEST(run_summary, path_is_the_flag_else_an_existing_fallback) {
  const auto dir = std::filesystem::temp_directory_path() / ("kb-sum-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto fallback = (dir / "termination-log").string();
  EXPECT_EQ(summary_path(std::nullopt, fallback), std::nullopt);
  std::ofstream(fallback).put('\n');
  EXPECT_EQ(summary_path(std::nullopt, fallback), fallback);
  EXPECT_EQ(summary_path(std::string("/x/y.json"), fallback), "/x/y.json");
  std::filesystem::remove_all(dir);
}

TEST(run_summary, writes_atomically_and_reports_a_bad_directory) {
  const auto dir = std::filesystem::temp_directory_path() / ("kb-sumw-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "summary.json").string();
  ASSERT_TRUE(write_run_summary(path, "{\"a\":1}\n"));
  ASSERT_TRUE(write_run_summary(path, "{\"a\":2}\n"));
  std::stringstream got;
  got << std::ifstream(path).rdbuf();
  EXPECT_EQ(got.str(), "{\"a\":2}\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  const auto bad = write_run_summary((dir / "missing" / "s.json").string(), "{}\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--summary-file"), std::string::npos) << bad.error().message;
  std::filesystem::remove_all(dir);
}

// The kubelet bind-mounts a regular file at /dev/termination-log: a rename cannot replace a mount
// point (EBUSY), so the summary goes into that file in place, and no temp file is left. A child in
// its own mount namespace (and user namespace when not root) sets up the same bind mount.
TEST(run_summary, writes_into_a_bind_mounted_file) {
  const auto dir = std::filesystem::temp_directory_path() / ("kb-sumb-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto host = (dir / "host-file").string();
  const auto target = (dir / "termination-log").string();
  std::ofstream(host).flush();
  std::ofstream(target).flush();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int flags = ::geteuid() == 0 ? CLONE_NEWNS : CLONE_NEWNS | CLONE_NEWUSER;
    if (::unshare(flags) != 0) ::_exit(10);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(11);
    if (::mount(host.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) ::_exit(12);
    ::_exit(write_run_summary(target, "{\"a\":3}\n") ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "10-12: the mount namespace could not be set up; 1: the write failed";
  std::stringstream got;
  got << std::ifstream(host).rdbuf();
  EXPECT_EQ(got.str(), "{\"a\":3}\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kb::cli
