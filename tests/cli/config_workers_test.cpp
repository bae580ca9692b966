// The `workers:` section (scale-out): defaults, bounds, the required group id, rendering.
#include "cli/config.hpp"

#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string k_base =
    "mode: backup\n"
    "backup_id: orders\n"
    "source:\n"
    "  bootstrap_servers: [\"kafka-0:9092\"]\n"
    "storage:\n"
    "  path: /var/backups\n";

kb::result<config> load(const std::string& text, std::map<std::string, std::string> vars = {}) {
  return load_config_text(text, "test.yaml", [vars](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

std::string error_of(const std::string& text) {
  const auto r = load(text);
  if (r) return "(loaded without error)";
  EXPECT_TRUE(r.error().is(kb::errc::config)) << r.error().message;
  return r.error().message;
}

TEST(config_workers, absent_means_one_process) {
  auto cfg = load(k_base);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_FALSE(cfg->workers.has_value());
  EXPECT_THAT(to_json(*cfg), ::testing::Not(HasSubstr("workers")));
}

TEST(config_workers, defaults_and_values) {
  auto cfg = load(k_base + "workers:\n  group_id: kb-orders\n");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_TRUE(cfg->workers.has_value());
  EXPECT_EQ(cfg->workers->group_id, "kb-orders");
  EXPECT_EQ(cfg->workers->session_timeout_ms, 45'000u);
  EXPECT_EQ(cfg->workers->rebalance_timeout_ms, 60'000u);
  EXPECT_FALSE(cfg->workers->instance_id.has_value());

  cfg = load(k_base +
                 "workers:\n  group_id: kb-orders\n  session_timeout_ms: 10000\n  rebalance_timeout_ms: 120000\n"
                 "  instance_id: ${POD}\n",
             {{"POD", "kb-0"}});
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->workers->session_timeout_ms, 10'000u);
  EXPECT_EQ(cfg->workers->rebalance_timeout_ms, 120'000u);
  EXPECT_EQ(cfg->workers->instance_id, std::optional<std::string>("kb-0"));
  const std::string rendered = to_json(*cfg);
  EXPECT_THAT(rendered, HasSubstr("\"group_id\":\"kb-orders\""));
  EXPECT_THAT(rendered, HasSubstr("\"instance_id\":\"kb-0\""));
}

TEST(config_workers, group_id_is_required) {
  EXPECT_THAT(error_of(k_base + "workers:\n  session_timeout_ms: 10000\n"),
              HasSubstr("workers.group_id: is required when workers: is set"));
  EXPECT_THAT(error_of(k_base + "workers:\n  group_id: \"\"\n"), HasSubstr("workers.group_id"));
}

TEST(config_workers, timeouts_are_bounded_and_named_with_their_line) {
  EXPECT_THAT(error_of(k_base + "workers:\n  group_id: g\n  session_timeout_ms: 10\n"),
              HasSubstr("test.yaml:9:"));
  EXPECT_THAT(error_of(k_base + "workers:\n  group_id: g\n  session_timeout_ms: 10\n"),
              HasSubstr("workers.session_timeout_ms"));
  EXPECT_THAT(error_of(k_base + "workers:\n  group_id: g\n  rebalance_timeout_ms: -5\n"),
              HasSubstr("workers.rebalance_timeout_ms"));
}

TEST(config_workers, unknown_keys_and_bad_instance_ids_are_refused) {
  EXPECT_THAT(error_of(k_base + "workers:\n  group_id: g\n  count: 3\n"), HasSubstr("workers.count"));
  EXPECT_THAT(error_of(k_base + "workers:\n  group_id: g\n  instance_id: \"\"\n"),
              HasSubstr("workers.instance_id: must be 1 to 249 printable characters"));
}

TEST(config_workers, applies_to_a_backup_and_warns_about_a_short_rebalance) {
  auto cfg = load(k_base + "workers:\n  group_id: g\n  session_timeout_ms: 30000\n  rebalance_timeout_ms: 5000\n");
  ASSERT_TRUE(cfg) << cfg.error().message;
  std::string all;
  for (const auto& w : cfg->warnings) all += w + "\n";
  EXPECT_THAT(all, Not(HasSubstr("not applied yet")));
  EXPECT_THAT(all, HasSubstr("shorter than session_timeout_ms"));
}

const std::string k_restore =
    "mode: restore\n"
    "backup_id: orders\n"
    "target:\n"
    "  bootstrap_servers: [\"kafka-0:9092\"]\n"
    "storage:\n"
    "  path: /var/backups\n"
    "workers:\n"
    "  group_id: kb-restore\n";

TEST(config_workers, applies_to_a_restore_without_a_warning) {
  auto cfg = load(k_restore);
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_TRUE(cfg->workers.has_value());
  std::string all;
  for (const auto& w : cfg->warnings) all += w + "\n";
  EXPECT_THAT(all, Not(HasSubstr("not applied yet")));
}

TEST(config_workers, a_restore_with_workers_refuses_local_state_and_repartitioning) {
  EXPECT_THAT(error_of(k_restore + "restore:\n  checkpoint_state: /tmp/state.json\n"),
              HasSubstr("restore.checkpoint_state: cannot be used with workers"));
  EXPECT_THAT(error_of(k_restore + "restore:\n  state_dir: /tmp/kb-state\n"),
              HasSubstr("restore.state_dir: cannot be used with workers"));
  EXPECT_THAT(error_of(k_restore + "restore:\n  repartitioning:\n    orders: {strategy: murmur2, target_partitions: 4}\n"),
              HasSubstr("restore.repartitioning: cannot be used with workers"));
  // Without workers: the single process takes them.
  auto cfg = load("mode: restore\nbackup_id: orders\ntarget:\n  bootstrap_servers: [\"kafka-0:9092\"]\nstorage:\n"
                  "  path: /var/backups\nrestore:\n  checkpoint_state: /tmp/state.json\n");
  ASSERT_TRUE(cfg) << cfg.error().message;
}

}  // namespace
}  // namespace kb::cli
