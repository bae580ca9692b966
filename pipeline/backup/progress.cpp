#include "pipeline/backup/progress.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kb::pipeline::backup {

namespace {

/// The end a started partition runs to (-1 unknown), or nullopt for one not started.
std::optional<std::int64_t> end_of(const partition_state& ps) {
  if (ps.phase == part_phase::pending) return std::nullopt;
  return ps.end_offset ? *ps.end_offset : ps.high_watermark;
}

}  // namespace

std::int64_t total_lag(const partition_map& parts) {
  std::int64_t lag = 0;
  bool known = true;
  for (const auto& [tp, ps] : parts) {
    const auto end = end_of(ps);
    if (!end) continue;
    if (*end < 0) {
      known = false;
      continue;
    }
    lag += std::max<std::int64_t>(0, *end - ps.next_offset);
  }
  return known ? lag : -1;
}

metrics_snapshot snapshot_metrics(const std::string& backup_id, const stats& totals, std::uint64_t errors,
                                  const memory_budget& budget, const partition_map& parts) {
  metrics_snapshot m;
  m.backup_id = backup_id;
  m.records = totals.records;
  m.batches = totals.batches;
  m.bytes_fetched = totals.bytes_fetched;
  m.bytes_raw = totals.bytes_raw;
  m.bytes_stored = totals.bytes_stored;
  m.segments = totals.segments;
  m.gaps = totals.gaps;
  m.errors = errors;
  m.memory_used = budget.used();
  m.memory_limit = budget.limit();
  for (const auto& [tp, ps] : parts) {
    const auto end = end_of(ps);
    if (!end) continue;
    m.lags.push_back({tp.topic, tp.partition, *end < 0 ? 0 : std::max<std::int64_t>(0, *end - ps.next_offset)});
  }
  return m;
}

bool all_partitions_done(const partition_map& parts, run_mode mode) {
  if (mode == run_mode::continuous) return false;
  return std::all_of(parts.begin(), parts.end(), [](const auto& e) { return e.second.phase == part_phase::done; });
}

bool drained(const partition_map& parts, in_flight_counts n, bool failed) {
  if (n.fetches > 0 || n.uploads > 0 || n.store_calls > 0) return false;
  for (const auto& [tp, ps] : parts) {
    if (ps.needs_reset) return false;
    for (const auto& seg : ps.closing)
      if (seg->outstanding > 0) return false;  // frames still at the pool
    if (!failed && (ps.cur || !ps.closing.empty() || ps.uploading)) return false;
  }
  return true;
}

std::string drain_blockers(const partition_map& parts, in_flight_counts n) {
  std::size_t resets = 0, at_pool = 0, unsealed = 0;
  for (const auto& [tp, ps] : parts) {
    resets += ps.needs_reset ? 1 : 0;
    for (const auto& seg : ps.closing) at_pool += seg->outstanding > 0 ? 1 : 0;
    unsealed += (ps.cur || !ps.closing.empty() || ps.uploading) ? 1 : 0;
  }
  return fmt::format("{} fetch(es), {} upload(s), {} store call(s) in flight; {} partition(s) resolving an offset "
                     "reset; {} segment(s) at the compression pool; {} partition(s) with unsealed or unuploaded "
                     "segments",
                     n.fetches, n.uploads, n.store_calls, resets, at_pool, unsealed);
}

}  // namespace kb::pipeline::backup
