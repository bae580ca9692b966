// The backup command's config -> job options mapping (clamps, modes, internal topics, metrics,
// the errors it refuses with) and the outcome line and exit decision at the end of a run.
#include "cli/backup_options.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::cli {
namespace {

namespace pb = pipeline::backup;
using ::testing::HasSubstr;

config base_config() {
  const std::string text =
      "mode: backup\n"
      "backup_id: orders-daily\n"
      "source:\n"
      "  bootstrap_servers: [\"127.0.0.1:9092\"]\n"
      "  topics:\n"
      "    include: [\"orders\"]\n"
      "    exclude: [\"orders-tmp\"]\n"
      "storage:\n"
      "  backend: filesystem\n"
      "  path: /var/backups\n";
  auto cfg = load_config_text(text, "test.yaml", [](std::string_view) -> std::optional<std::string> { return {}; });
  EXPECT_TRUE(cfg) << cfg.error().message;
  return *cfg;
}

TEST(backup_options, maps_source_topics_and_defaults) {
  const auto o = backup_job_options(base_config());
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->backup_id, "orders-daily");
  ASSERT_EQ(o->cluster.bootstrap_servers.size(), 1u);
  EXPECT_EQ(o->cluster.bootstrap_servers.front(), "127.0.0.1:9092");
  EXPECT_EQ(o->topics.include, std::vector<std::string>{"orders"});
  EXPECT_EQ(o->topics.exclude, std::vector<std::string>{"orders-tmp"});
  EXPECT_FALSE(o->topics.include_internal);
  EXPECT_EQ(o->mode, pb::run_mode::one_shot);
  EXPECT_EQ(o->start, pb::start_position::earliest);
  EXPECT_FALSE(o->metrics.has_value());
  EXPECT_EQ(o->tool_version, KB_VERSION);
}

TEST(backup_options, clamps_zero_intervals_and_sizes) {
  auto cfg = base_config();
  cfg.backup.segment_max_bytes = 0;
  cfg.backup.segment_max_interval_ms = 0;
  cfg.backup.poll_interval_ms = 1;
  cfg.backup.max_concurrent_partitions = 0;
  const auto o = backup_job_options(cfg);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->segment_max_bytes, 1u);
  EXPECT_EQ(o->segment_max_interval_ms, 1u);
  EXPECT_EQ(o->poll_interval_ms, 10u);
  EXPECT_EQ(o->max_concurrent_partitions, 1u);
}

TEST(backup_options, picks_the_run_mode_continuous_first) {
  auto cfg = base_config();
  cfg.backup.stop_at_current_offsets = true;
  EXPECT_EQ(backup_job_options(cfg)->mode, pb::run_mode::snapshot);
  cfg.backup.continuous = true;
  EXPECT_EQ(backup_job_options(cfg)->mode, pb::run_mode::continuous);
  cfg.backup.start_offset = start_offset_policy::latest;
  EXPECT_EQ(backup_job_options(cfg)->start, pb::start_position::latest);
}

TEST(backup_options, internal_topics_are_added_to_the_includes) {
  auto cfg = base_config();
  cfg.backup.include_internal_topics = true;
  cfg.backup.internal_topics = {"__consumer_offsets"};
  const auto o = backup_job_options(cfg);
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_TRUE(o->topics.include_internal);
  EXPECT_EQ(o->topics.include, (std::vector<std::string>{"orders", "__consumer_offsets"}));
}

TEST(backup_options, metrics_only_when_enabled) {
  auto cfg = base_config();
  cfg.metrics.enabled = true;
  cfg.metrics.port = 9999;
  cfg.metrics.path = "/m";
  cfg.metrics.max_partition_labels = 7;
  const auto o = backup_job_options(cfg);
  ASSERT_TRUE(o) << o.error().message;
  ASSERT_TRUE(o->metrics.has_value());
  EXPECT_EQ(o->metrics->port, 9999);
  EXPECT_EQ(o->metrics->path, "/m");
  EXPECT_EQ(o->metrics->max_partition_labels, 7u);
}

TEST(backup_options, refuses_a_missing_source_and_specific_offsets) {
  auto cfg = base_config();
  cfg.backup.start_offset = start_offset_policy::specific;
  const auto specific = backup_job_options(cfg);
  ASSERT_FALSE(specific);
  EXPECT_TRUE(specific.error().is(errc::config));
  EXPECT_THAT(specific.error().message, HasSubstr("backup.start_offset: specific"));
  cfg.source.reset();
  const auto no_source = backup_job_options(cfg);
  ASSERT_FALSE(no_source);
  EXPECT_TRUE(no_source.error().is(errc::config));
  EXPECT_THAT(no_source.error().message, HasSubstr("test.yaml: the backup needs a 'source:' section"));
}

pb::stats finished(bool interrupted, std::uint64_t complete) {
  pb::stats s;
  s.topics = 1;
  s.partitions = 3;
  s.partitions_complete = complete;
  s.records = 300;
  s.bytes_raw = 3'000'000;
  s.bytes_stored = 1024;
  s.segments = 2;
  s.seconds = 2.0;
  s.interrupted = interrupted;
  return s;
}

TEST(backup_outcome, complete_run_is_a_success) {
  const auto o = describe_outcome("daily", finished(false, 3), false);
  EXPECT_FALSE(o.partial);
  EXPECT_EQ(o.line,
            "backup 'daily' complete: 1 topics, 3 partitions, 300 records, 2.9 MiB raw / 1.0 KiB stored in 2 "
            "segments, 1.5 MB/s, 2.0 s\n");
}

TEST(backup_outcome, interrupted_one_shot_before_its_end_is_partial) {
  const auto o = describe_outcome("daily", finished(true, 2), false);
  EXPECT_TRUE(o.partial);
  EXPECT_THAT(o.line, HasSubstr("backup 'daily' interrupted (committed what was fetched): "));
}

TEST(backup_outcome, stopped_continuous_or_finished_run_is_not_partial) {
  const auto continuous = describe_outcome("daily", finished(true, 0), true);
  EXPECT_FALSE(continuous.partial);
  EXPECT_THAT(continuous.line, HasSubstr("backup 'daily' stopped (committed what was fetched): "));
  const auto all_done = describe_outcome("daily", finished(true, 3), false);
  EXPECT_FALSE(all_done.partial);
  EXPECT_THAT(all_done.line, HasSubstr(" stopped "));
}

}  // namespace
}  // namespace kb::cli
