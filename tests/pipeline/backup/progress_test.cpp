// What a running backup reports (lag, metrics snapshot) and when it may return (done, drained),
// over hand-made partition states: no broker, no store.
#include "pipeline/backup/progress.hpp"

#include <gtest/gtest.h>

namespace kb::pipeline::backup {
namespace {

namespace sf = storage::format;

partition_state started(std::string topic, std::int64_t next, std::int64_t hw, std::optional<std::int64_t> end = {}) {
  partition_state ps;
  ps.tp = {std::move(topic), 0};
  ps.phase = part_phase::active;
  ps.next_offset = next;
  ps.high_watermark = hw;
  ps.end_offset = end;
  return ps;
}

TEST(progress, lag_sums_started_partitions_to_their_end_or_high_watermark) {
  partition_map parts;
  parts[{"a", 0}] = started("a", 10, 50);       // 40
  parts[{"b", 0}] = started("b", 10, 500, 30);  // to the end offset: 20
  parts[{"c", 0}] = started("c", 90, 50);       // past the watermark: 0
  partition_state pending;
  pending.high_watermark = -1;
  parts[{"d", 0}] = pending;  // not started: not counted
  EXPECT_EQ(total_lag(parts), 60);
  parts[{"e", 0}] = started("e", 0, -1);  // started, end unknown yet
  EXPECT_EQ(total_lag(parts), -1);
}

TEST(progress, snapshot_carries_totals_budget_and_per_partition_lag) {
  partition_map parts;
  parts[{"a", 0}] = started("a", 10, 50);
  parts[{"e", 1}] = started("e", 0, -1);
  stats totals;
  totals.records = 7;
  totals.segments = 2;
  memory_budget budget(1000);
  budget.force_acquire(300);
  const auto m = snapshot_metrics("id", totals, 3, budget, parts);
  EXPECT_EQ(m.backup_id, "id");
  EXPECT_EQ(m.records, 7u);
  EXPECT_EQ(m.segments, 2u);
  EXPECT_EQ(m.errors, 3u);
  EXPECT_EQ(m.memory_used, 300u);
  EXPECT_EQ(m.memory_limit, 1000u);
  ASSERT_EQ(m.lags.size(), 2u);
  EXPECT_EQ(m.lags[0].lag, 40);
  EXPECT_EQ(m.lags[1].lag, 0);  // unknown end shows as 0
  budget.release(300);
}

TEST(progress, done_when_every_partition_is_done_and_never_in_continuous_mode) {
  partition_map parts;
  EXPECT_TRUE(all_partitions_done(parts, run_mode::one_shot));
  parts[{"a", 0}] = started("a", 0, 0);
  EXPECT_FALSE(all_partitions_done(parts, run_mode::snapshot));
  parts[{"a", 0}].phase = part_phase::done;
  EXPECT_TRUE(all_partitions_done(parts, run_mode::snapshot));
  EXPECT_FALSE(all_partitions_done(parts, run_mode::continuous));
}

TEST(progress, drained_waits_for_everything_in_flight) {
  partition_map parts;
  parts[{"a", 0}] = started("a", 0, 0);
  EXPECT_TRUE(drained(parts, {}, false));
  EXPECT_FALSE(drained(parts, {1, 0, 0}, false));
  EXPECT_FALSE(drained(parts, {0, 1, 0}, false));
  EXPECT_FALSE(drained(parts, {0, 0, 1}, false));
  auto& ps = parts[{"a", 0}];
  ps.needs_reset = true;
  EXPECT_FALSE(drained(parts, {}, true));
  ps.needs_reset = false;
  ps.cur = std::make_shared<open_segment>(sf::segment_builder::options{});
  EXPECT_FALSE(drained(parts, {}, false));  // an open segment still to seal and upload
  EXPECT_TRUE(drained(parts, {}, true));    // after an error it is abandoned
  ps.closing.push_back(ps.cur);
  ps.cur->outstanding = 1;
  EXPECT_FALSE(drained(parts, {}, true));   // but frames at the pool are awaited
  EXPECT_EQ(drain_blockers(parts, {2, 1, 0}),
            "2 fetch(es), 1 upload(s), 0 store call(s) in flight; 0 partition(s) resolving an offset reset; "
            "1 segment(s) at the compression pool; 1 partition(s) with unsealed or unuploaded segments");
}

}  // namespace
}  // namespace kb::pipeline::backup
