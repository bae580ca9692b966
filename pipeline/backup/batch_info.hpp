// From one fetched batch to its index entry: header checks and CRC (v2 records are never decoded,
// except the single record of a control batch, whose key says COMMIT or ABORT; a legacy v0/v1
// entry is, for its offset range and timestamps), and the
// tracking of transactional spans (producer id, first offset -> marker) per partition.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "base/error.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/format/segment.hpp"

namespace kb::pipeline::backup {

/// Checks the batch's CRC and fills a batch_entry from its header (frame/position/size are
/// the segment builder's). errc::corrupt naming the offset when the CRC does not match.
[[nodiscard]] result<storage::format::batch_entry> describe_batch(const protocol::fetched_batch& batch);

/// Open transactions of one partition, closed by control batches. Spans that are still open
/// when a segment ends are written to that segment as `open` (with the last offset seen so far)
/// and stay open here, so the segment that holds the marker gets the whole span.
class txn_tracker {
 public:
  /// Feeds one batch in offset order; returns the span it closes (a commit/abort marker).
  std::optional<storage::format::txn_span> observe(const storage::format::batch_entry& e);
  /// Spans still open, for the segment being finished, with last_offset = last offset seen.
  [[nodiscard]] std::vector<storage::format::txn_span> open_spans() const;
  /// Restores open spans (from the last durable segment's index) after a restart.
  void restore(const std::vector<storage::format::txn_span>& spans);
  [[nodiscard]] std::size_t open_count() const noexcept { return open_.size(); }

 private:
  std::map<std::int64_t, storage::format::txn_span> open_;  ///< by producer id
};

}  // namespace kb::pipeline::backup
