#include "pipeline/backup/worker_totals.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "storage/object_store.hpp"

namespace kb::pipeline::backup {

namespace sf = storage::format;

result<group_totals> sum_group_totals(storage::object_store& store, const sf::backup_paths& paths,
                                      const std::vector<group_partition>& parts) {
  group_totals t;
  for (const auto& p : parts) {
    t.partitions += 1;
    std::int64_t next = -1;
    auto text = store.get(paths.checkpoint(p.tp.topic, p.tp.partition));
    if (!text && !text.error().is(errc::not_found)) return fail(std::move(text.error()));
    if (text) {
      if (auto c = sf::parse_checkpoint(as_text(*text))) {
        t.checkpoints += 1;
        next = c->next_offset;
        t.records += c->records;
        t.bytes_raw += c->bytes_raw;
        t.bytes_stored += c->bytes_stored;
        t.segments += c->segments;
      }
    }
    if (p.end_offset < 0) continue;
    // Nothing to back up (empty, or everything below the log start) counts as done.
    const bool empty = p.log_start >= 0 && p.end_offset <= p.log_start;
    if (next >= p.end_offset || (next < 0 && empty)) {
      t.partitions_done += 1;
      continue;
    }
    const std::int64_t from = std::max(next, std::max<std::int64_t>(p.log_start, 0));
    t.lag += std::max<std::int64_t>(0, p.end_offset - from);
  }
  return t;
}

std::string group_totals_line(std::string_view group_id, std::int32_t generation, std::string_view leader,
                              const group_totals& t) {
  return fmt::format("backup group {} (generation {}, leader {}): {}/{} partitions at their end offsets, "
                     "{} with a checkpoint, {} records, {} bytes raw, {} bytes stored, {} segments, lag {} offsets",
                     group_id, generation, leader, t.partitions_done, t.partitions, t.checkpoints, t.records,
                     t.bytes_raw, t.bytes_stored, t.segments, t.lag);
}

}  // namespace kb::pipeline::backup
