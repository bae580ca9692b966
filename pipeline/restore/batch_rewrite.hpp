// Restore's per-batch decision (pure, no I/O): drop control, aborted and empty batches, pass whole
// v2 batches through untouched, or re-encode the few the broker would reject or the time window
// cuts (compaction gaps, boundary batches, legacy v0/v1 entries, LogAppendTime batches).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "storage/format/segment.hpp"

namespace kb::pipeline::restore {

/// Record timestamps to keep, both bounds inclusive; an unset bound is open.
struct time_window {
  std::optional<std::int64_t> start;
  std::optional<std::int64_t> end;
  [[nodiscard]] bool contains(std::int64_t ts) const noexcept {
    return (!start || ts >= *start) && (!end || ts <= *end);
  }
  [[nodiscard]] bool unbounded() const noexcept { return !start && !end; }
};

/// Which transactional batches never became visible: spans closed by an ABORT marker, and spans
/// still open at the end of the backup (read_committed would never have shown them either).
/// Built from every index entry of one partition in offset order (markers carry the producer id)
/// plus the txn spans the segment indexes recorded.
class txn_filter {
 public:
  /// Feed every batch entry of the partition in offset order.
  void observe(const storage::format::batch_entry& entry);
  /// Spans recorded by the backup's index (any segment); aborted ones are honoured as well.
  void observe_span(const storage::format::txn_span& span);
  /// Call once after the last observe: transactions without a marker count as not committed.
  void finish();

  /// True when `entry` is a transactional data batch whose transaction did not commit.
  [[nodiscard]] bool dropped(const storage::format::batch_entry& entry) const;
  [[nodiscard]] std::size_t aborted_spans() const noexcept { return ranges_.size(); }

 private:
  struct range {
    std::int64_t first = 0;
    std::int64_t last = 0;
  };
  std::map<std::int64_t, std::vector<range>> by_producer_;  // not-committed ranges per pid
  std::map<std::int64_t, std::int64_t> open_;               // pid -> first offset of open txn
  std::vector<range> ranges_;
};

/// Source offsets [first, first + count) restored as consecutive records.
struct source_run {
  std::int64_t first = 0;
  std::int32_t count = 0;
  friend bool operator==(const source_run&, const source_run&) = default;
};

/// One batch ready to produce. Pass-through batches share the frame buffer (patched in place
/// later); re-encoded ones own their bytes. Producer fields are set when it is sent.
struct output_batch {
  std::shared_ptr<byte_vector> storage;
  std::size_t offset = 0;
  std::size_t size = 0;
  std::int32_t record_count = 0;
  std::vector<source_run> sources;  ///< in record order; counts sum to record_count
  bool reencoded = false;

  [[nodiscard]] mutable_byte_view bytes() const noexcept { return {storage->data() + offset, size}; }
  [[nodiscard]] std::int64_t first_source() const noexcept { return sources.front().first; }
  [[nodiscard]] std::int64_t last_source() const noexcept {
    return sources.back().first + sources.back().count - 1;
  }
};

enum class batch_fate { pass_through, reencode, drop };

/// Why a batch was re-encoded or dropped, for counters and the dry-run plan.
enum class fate_reason {
  none,
  control,        ///< transaction marker
  aborted,        ///< inside an aborted or never-committed transaction
  empty,          ///< no records (kept by the log cleaner)
  before_start,   ///< every record before the resume point or the window
  outside_window, ///< max timestamp before the window start
  compaction_gap, ///< offset deltas not contiguous
  window_cut,     ///< some records outside the window
  legacy,         ///< magic 0/1 entry
  log_append_time,
  too_large,      ///< larger than the target's max.message.bytes
};
[[nodiscard]] std::string_view to_string(fate_reason r) noexcept;

struct rewrite_options {
  time_window window;
  /// Records with a smaller source offset were restored already (resume) or belong to an
  /// earlier, overlapping segment: they are dropped.
  std::int64_t min_offset = 0;
  /// The target's max.message.bytes: larger outputs are split into several batches.
  std::size_t max_batch_bytes = 1048588;
};

/// What the index alone says (no bytes read): drop, surely pass through, or look inside.
struct index_verdict {
  batch_fate fate = batch_fate::pass_through;
  fate_reason reason = fate_reason::none;
  bool must_inspect = false;  ///< window start set: record timestamps must be checked
};
[[nodiscard]] index_verdict judge_entry(const storage::format::batch_entry& entry, bool txn_dropped,
                                        const rewrite_options& options);

/// Counters over everything rewrite_batch saw.
struct rewrite_stats {
  std::uint64_t batches_in = 0;
  std::uint64_t passed = 0;
  std::uint64_t reencoded = 0;
  std::uint64_t dropped = 0;
  std::uint64_t records_out = 0;
  std::uint64_t records_filtered = 0;  ///< records dropped inside re-encoded batches
  std::uint64_t merged_in = 0;         ///< small batches merged with their neighbours (merge_small_batches)
  std::uint64_t merged_out = 0;        ///< the batches they became
  std::map<fate_reason, std::uint64_t> reasons;
};

/// Rewrites one stored batch. `frame` holds the frame's raw bytes; the batch lies at
/// entry.position/entry.size inside it. Appends zero or more outputs to `out`.
/// errc::corrupt when the bytes do not match the entry or do not decode.
[[nodiscard]] kb::result<void> rewrite_batch(const std::shared_ptr<byte_vector>& frame,
                                             const storage::format::batch_entry& entry, bool txn_dropped,
                                             const rewrite_options& options, std::vector<output_batch>& out,
                                             rewrite_stats* stats = nullptr);

/// Stamps our idempotent producer onto a batch ready to send: producer id, epoch and base
/// sequence, transactional and delete-horizon bits cleared, CRC-32C recomputed.
[[nodiscard]] kb::result<void> stamp_producer(const output_batch& batch, std::int64_t producer_id,
                                              std::int16_t producer_epoch, std::int32_t base_sequence);

/// Re-encodes `batch` into batches of at most `max_bytes` (the target refused it as too large);
/// sources stay aligned. errc::invalid_argument when a single record does not fit.
[[nodiscard]] kb::result<std::vector<output_batch>> resplit_batch(const output_batch& batch, std::size_t max_bytes);

/// Drops the first `skip` records of `batch` (already in the target after an interrupted run)
/// and returns the remainder re-encoded; std::nullopt when nothing remains.
[[nodiscard]] kb::result<std::optional<output_batch>> drop_leading_records(const output_batch& batch,
                                                                          std::int32_t skip);

/// How large merge_small_batches may make a batch. bytes 0: no merging.
struct merge_limits {
  std::size_t bytes = 0;
  std::int64_t records = std::numeric_limits<std::int64_t>::max();
};

/// The limits for a target whose batches may be `max_batch` bytes: a megabyte, under the target's
/// limit; with a restore rate limit (0: none) also a quarter of a second's records and bytes, so
/// pacing stays as smooth as the limit asks.
[[nodiscard]] merge_limits merge_limits_for(std::size_t max_batch, std::uint64_t records_per_sec = 0,
                                            std::uint64_t bytes_per_sec = 0) noexcept;

/// Merges runs of neighbouring small uncompressed batches of one partition (each at most half of
/// the byte limit, together within both limits) into one batch each: the broker's work grows with the
/// batches it appends, and a 1,000-partition topic's stored batches are small. Records keep their
/// order, timestamps, keys, values and headers, and the source runs their offsets; only the batch
/// boundaries change. Compressed, control, LogAppendTime and delete-horizon batches stay as they are.
/// Deterministic: the same list gives the same batches, so a re-run resuming at a batch boundary
/// forms the batches a killed run formed (and their idempotent sequences match).
[[nodiscard]] kb::result<void> merge_small_batches(std::vector<output_batch>& batches, const merge_limits& limits,
                                                   rewrite_stats* stats = nullptr);

}  // namespace kb::pipeline::restore
