// Queries over a `.kbs` segment's index: its offset range, raw size, records, live offsets.
#include "storage/format/segment_index.hpp"

#include <algorithm>

namespace kb::storage::format {

std::int64_t segment_index::first_offset() const noexcept {
  std::int64_t first = -1;
  if (!batches.empty()) first = batches.front().first_offset;
  if (!gaps.empty() && (first < 0 || gaps.front().first_offset < first)) first = gaps.front().first_offset;
  return first;
}

std::int64_t segment_index::last_offset() const noexcept {
  std::int64_t last = -1;
  if (!batches.empty()) last = batches.back().last_offset;
  if (!gaps.empty()) last = std::max(last, gaps.back().last_offset);
  return last;
}

std::int64_t live_first_offset(const segment_index& index, const batch_entry& entry) noexcept {
  std::int64_t at = entry.first_offset;
  for (const auto& g : index.gaps)  // sorted and disjoint (parse_segment checks)
    if (g.first_offset <= at && g.last_offset >= at) at = g.last_offset + 1;
  return at;
}

std::uint64_t segment_index::raw_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& f : frames) n += f.raw_size;
  return n;
}

std::uint64_t segment_index::record_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& b : batches)
    if ((b.flags & batch_flags::control) == 0 && b.record_count > 0) n += static_cast<std::uint64_t>(b.record_count);
  return n;
}

}  // namespace kb::storage::format
