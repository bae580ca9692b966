// The segment chain of one stored partition: do its segments, their indexes and checkpoint.json
// together hold every offset from the first stored one to the checkpoint's next offset, apart
// from recorded gaps? Pure (no I/O); shared by `validate` and by restore's pre-produce check.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/format/manifest.hpp"
#include "storage/format/segment.hpp"

namespace kb::storage::format {

/// Sorted, merged: overlapping or adjacent ranges joined into one.
[[nodiscard]] std::vector<offset_gap> merge_gaps(std::vector<offset_gap> gaps);

/// The parts of [first, last] that no gap of `merged` (from merge_gaps) covers, ascending.
[[nodiscard]] std::vector<offset_gap> uncovered(const std::vector<offset_gap>& merged, std::int64_t first,
                                                std::int64_t last);

/// One stored segment of the partition, as listed.
struct chain_link {
  std::string key;
  std::int64_t first = 0;  ///< from the key's file name
  std::int64_t last = 0;
  /// Its index footer when it was read and matches the key (segment_mismatch); null otherwise.
  /// Only a link with an index contributes recorded gaps and is checked batch by batch.
  const segment_index* index = nullptr;
};

enum class chain_issue {
  hole,          ///< offsets missing and not recorded as a gap: data is lost (restore refuses)
  overlap,       ///< offsets two segments hold differently (restore refuses; see chain_overlap)
  inconsistent,  ///< checkpoint.json disagrees with the segments, no offsets missing
};

struct chain_finding {
  chain_issue kind = chain_issue::hole;
  std::string key;  ///< the object the finding is about (a segment, or the checkpoint)
  std::int64_t first_offset = 0;  ///< the missing (hole) or differently held (overlap) offsets
  std::int64_t last_offset = 0;
  std::string problem;  ///< what is wrong, for people; does not repeat `key`
};

/// Offsets two segments both hold with index entries that agree batch by batch (two writers on
/// one partition for a moment: a zombie worker, or a resumed backup). Restore reads them once,
/// from `other_key`; `validate --deep` compares their bytes (compare_overlap).
struct chain_overlap {
  std::string key;        ///< the later segment
  std::string other_key;  ///< the earlier segment holding the same batches (the one restore reads)
  std::int64_t first_offset = 0;  ///< the shared batches' offsets
  std::int64_t last_offset = 0;
};

struct chain_report {
  std::vector<offset_gap> gaps;  ///< recorded gaps (checkpoint and indexes), merged
  std::vector<chain_finding> findings;  ///< in offset order of the checks below
  std::vector<chain_overlap> overlaps;  ///< accepted overlaps, per pair of segments, in offset order
  [[nodiscard]] std::vector<const chain_finding*> holes() const;
};

/// Checks, in this order:
///  - head: the first segment starts at the checkpoint's first_offset;
///  - between segments: each starts right after the furthest offset before it, else a hole, or
///    an overlap: every batch the later segment holds below that point must be the same batch
///    (offsets, size, record count, flags, timestamps, producer fields) in the segment before
///    it that holds those offsets. Same batches are an accepted chain_overlap; anything else
///    (other batch boundaries, a batch where the earlier segment has none, an unreadable
///    index) is an `overlap` finding naming both segments and the offsets;
///  - inside each indexed segment: batch offsets follow each other;
///  - tail: the checkpoint's last_segment exists and the segments reach next_offset - 1.
/// Missing offsets covered by a recorded gap are fine. `compacted` (cleanup.policy compact)
/// tolerates missing offsets between and inside segments, as compaction removes whole batches;
/// head and tail are checked all the same, since the backup names segments and the checkpoint
/// by the offsets it stored. `links` sorted by (first, last). `checkpoint` may be null (none
/// or unreadable): then only the segments are checked against each other.
///
/// Log start inside a batch (DESIGN §5 inv. 6): a batch may begin before the partition's
/// recorded start; its offsets below the start are a gap recorded in its own segment, so they
/// never form a hole, and a segment that begins below the previous one's end is no overlap when
/// every offset it holds there lies in its own gaps.
[[nodiscard]] chain_report check_chain(std::span<const chain_link> links, const partition_checkpoint* checkpoint,
                                       std::string_view checkpoint_key, bool compacted);

/// Why a segment's index does not belong under `key` (read from topic/partition, named for
/// offsets first..last): another topic or partition in its header, or other offsets than its
/// name. nullopt when it matches.
[[nodiscard]] std::optional<std::string> segment_mismatch(const segment_index& index, std::string_view topic,
                                                          std::int32_t partition, std::int64_t first,
                                                          std::int64_t last);

}  // namespace kb::storage::format
