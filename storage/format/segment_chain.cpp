// The segment chain check shared by validate and restore (see segment_chain.hpp).
#include "storage/format/segment_chain.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace kb::storage::format {

std::vector<offset_gap> merge_gaps(std::vector<offset_gap> gaps) {
  std::sort(gaps.begin(), gaps.end(), [](const auto& a, const auto& b) { return a.first_offset < b.first_offset; });
  std::vector<offset_gap> out;
  for (const auto& g : gaps) {
    if (!out.empty() && g.first_offset <= out.back().last_offset + 1)
      out.back().last_offset = std::max(out.back().last_offset, g.last_offset);
    else
      out.push_back(g);
  }
  return out;
}

std::vector<offset_gap> uncovered(const std::vector<offset_gap>& merged, std::int64_t first, std::int64_t last) {
  std::vector<offset_gap> out;
  std::int64_t at = first;
  for (const auto& g : merged) {
    if (at > last) break;
    if (g.last_offset < at) continue;
    if (g.first_offset > last) break;
    if (g.first_offset > at) out.push_back({at, g.first_offset - 1});
    at = g.last_offset + 1;
    if (g.last_offset == INT64_MAX) return out;  // nothing can follow
  }
  if (at <= last) out.push_back({at, last});
  return out;
}

std::vector<const chain_finding*> chain_report::holes() const {
  std::vector<const chain_finding*> out;
  for (const auto& f : findings)
    if (f.kind == chain_issue::hole) out.push_back(&f);
  return out;
}

namespace {

bool same_batch(const batch_entry& a, const batch_entry& b) {
  return a.first_offset == b.first_offset && a.last_offset == b.last_offset && a.size == b.size &&
         a.record_count == b.record_count && a.flags == b.flags && a.first_timestamp == b.first_timestamp &&
         a.max_timestamp == b.max_timestamp && a.producer_id == b.producer_id &&
         a.producer_epoch == b.producer_epoch && a.base_sequence == b.base_sequence;
}

std::string describe_batch(const batch_entry& b) {
  return fmt::format("batch {}..{} ({} bytes, {} records)", b.first_offset, b.last_offset, b.size, b.record_count);
}

/// Two writers on one partition (a zombie worker, a resumed backup) may store the same offsets
/// twice. Kafka serves one batch per offset, so the copies must be the same batches; the first
/// segment holding an offset is the one restore reads, the later copy is compared with it.
class overlap_checker {
 public:
  explicit overlap_checker(chain_report& r) : r_(r) {}

  /// Segment `l` begins at or below `reach`, the furthest offset of the segments before it.
  void check(const chain_link& l, std::int64_t reach, const chain_link& reach_link) {
    const std::int64_t end = std::min(reach, l.last);
    auto differ = [&](const std::string& why) {
      r_.findings.push_back({chain_issue::overlap, l.key, l.first, end,
                             fmt::format("offsets {}..{} are also held by {}, and the two differ: {}; two writers "
                                         "stored different data for the same offsets",
                                         l.first, end, reach_link.key, why)});
    };
    if (!l.index) return differ("this segment's index is unreadable or does not match its name, so its batches cannot be compared");
    for (const auto& b : l.index->batches) {
      if (b.first_offset > reach) break;
      if (live_first_offset(*l.index, b) > reach) continue;  // held below the reach only as its own gap
      const auto found = held_.find(b.first_offset);
      if (found == held_.end()) {
        const chain_link* other = holder_of(b.first_offset);
        if (other && !other->index) {
          return differ(fmt::format("{} holds offset {}, but its index could not be read", other->key, b.first_offset));
        }
        return differ(fmt::format("this segment holds {}, {} holds no batch starting at offset {}", describe_batch(b),
                                  other ? other->key : reach_link.key, b.first_offset));
      }
      const auto& [theirs, other] = found->second;
      if (!same_batch(*theirs, b)) {
        return differ(fmt::format("at offset {} this segment holds {}, {} holds {}", b.first_offset, describe_batch(b),
                                  other->key, describe_batch(*theirs)));
      }
      // Same batch: one accepted overlap per pair of segments.
      auto& list = r_.overlaps;
      if (!list.empty() && list.back().key == l.key && list.back().other_key == other->key) {
        list.back().last_offset = b.last_offset;
      } else {
        list.push_back({l.key, other->key, b.first_offset, b.last_offset});
      }
    }
  }

  /// The batches of `l` that no earlier segment holds become the ones later copies are compared with.
  void add(const chain_link& l) {
    seen_.push_back(&l);
    if (!l.index) return;
    for (const auto& b : l.index->batches) held_.try_emplace(b.first_offset, &b, &l);
  }

 private:
  const chain_link* holder_of(std::int64_t offset) const {
    for (auto it = seen_.rbegin(); it != seen_.rend(); ++it)
      if ((*it)->first <= offset && offset <= (*it)->last) return *it;
    return nullptr;
  }

  chain_report& r_;
  std::map<std::int64_t, std::pair<const batch_entry*, const chain_link*>> held_;  ///< first offset -> first copy
  std::vector<const chain_link*> seen_;
};

/// Parses the file name at the end of a segment key.
std::optional<std::pair<std::int64_t, std::int64_t>> range_of_key(std::string_view key) {
  const auto slash = key.rfind('/');
  return parse_segment_file_name(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

void add_hole(chain_report& r, const std::string& key, const offset_gap& g, std::string problem) {
  r.findings.push_back({chain_issue::hole, key, g.first_offset, g.last_offset, std::move(problem)});
}

/// Inside a segment, batch offsets follow each other (not checked for compacted topics).
void check_inside_segments(chain_report& r, std::span<const chain_link> links) {
  for (const auto& l : links) {
    if (!l.index) continue;
    std::int64_t prev_last = -1;
    bool any = false;
    for (const auto& b : l.index->batches) {
      if (any && b.first_offset > prev_last + 1)
        for (const auto& g : uncovered(r.gaps, prev_last + 1, b.first_offset - 1))
          add_hole(r, l.key, g,
                   fmt::format("offsets {}..{} are missing inside the segment and not recorded as a gap", g.first_offset,
                               g.last_offset));
      prev_last = any ? std::max(prev_last, b.last_offset) : b.last_offset;
      any = true;
    }
  }
}

/// Tail: the checkpoint names the newest durable segment and the next offset to fetch; `reach`
/// is the furthest offset the segments hold.
void check_tail(chain_report& r, std::span<const chain_link> links, const partition_checkpoint& cp,
                std::string_view checkpoint_key, std::int64_t reach) {
  const std::string ckey(checkpoint_key);
  const auto named = std::find_if(links.begin(), links.end(), [&](const chain_link& l) { return l.key == cp.last_segment; });
  if (named == links.end()) {
    const auto range = range_of_key(cp.last_segment);
    std::int64_t expected = cp.next_offset - 1;
    if (range) expected = std::max(expected, range->second);
    std::int64_t from = reach + 1;
    if (links.empty()) from = cp.first_offset >= 0 ? cp.first_offset : (range ? range->first : 0);
    const auto missing = from <= expected ? uncovered(r.gaps, from, expected) : std::vector<offset_gap>{};
    if (missing.empty()) {
      r.findings.push_back({chain_issue::inconsistent, ckey, 0, 0,
                            fmt::format("last_segment {} does not exist", cp.last_segment)});
    }
    for (std::size_t i = 0; i < missing.size(); ++i) {
      const auto& g = missing[i];
      add_hole(r, ckey, g,
               i == 0 ? fmt::format("last_segment {} does not exist: offsets {}..{} are missing and not recorded as a gap",
                                    cp.last_segment, g.first_offset, g.last_offset)
                      : fmt::format("offsets {}..{} are missing at the end and not recorded as a gap", g.first_offset,
                                    g.last_offset));
    }
  } else if (cp.next_offset <= named->last) {
    r.findings.push_back({chain_issue::inconsistent, ckey, 0, 0,
                          fmt::format("next_offset {} is not past its last segment, which ends at {}", cp.next_offset,
                                      named->last)});
  } else if (cp.next_offset - 1 > reach) {
    for (const auto& g : uncovered(r.gaps, reach + 1, cp.next_offset - 1))
      add_hole(r, ckey, g,
               fmt::format("next_offset {} is past the last stored offset {}: offsets {}..{} are missing and not "
                           "recorded as a gap",
                           cp.next_offset, reach, g.first_offset, g.last_offset));
  }
}

}  // namespace

chain_report check_chain(std::span<const chain_link> links, const partition_checkpoint* cp,
                         std::string_view checkpoint_key, bool compacted) {
  chain_report r;
  if (cp) r.gaps = cp->gaps;
  for (const auto& l : links)
    if (l.index) r.gaps.insert(r.gaps.end(), l.index->gaps.begin(), l.index->gaps.end());
  r.gaps = merge_gaps(std::move(r.gaps));
  auto hole = [&r](const std::string& key, const offset_gap& g, std::string problem) {
    add_hole(r, key, g, std::move(problem));
  };

  // Head: the backup names its first segment by the first offset it stored.
  if (cp && cp->first_offset >= 0 && !links.empty() && links.front().first > cp->first_offset) {
    for (const auto& g : uncovered(r.gaps, cp->first_offset, links.front().first - 1))
      hole(links.front().key, g,
           fmt::format("offsets {}..{} before this segment are missing and not recorded as a gap ({} says the "
                       "backup starts at offset {})",
                       g.first_offset, g.last_offset, checkpoint_key, cp->first_offset));
  }

  // Between segments: each starts right after the furthest offset seen so far, or holds the
  // same batches as the chain before it where it overlaps.
  overlap_checker overlaps(r);
  std::int64_t reach = -1;
  const chain_link* reach_link = nullptr;
  for (const auto& l : links) {
    if (reach_link) {
      // Log start inside a batch (DESIGN §5 inv. 6): a segment may begin below the reach when
      // all it holds there is its own recorded gap over the leading offsets of its first
      // batch (a retention reset recorded in the previous segment, the batch in this one).
      const bool own_gap = l.first <= reach && l.index && l.last > reach &&
                           uncovered(merge_gaps(l.index->gaps), l.first, reach).empty();
      if (l.first <= reach && !own_gap) {
        overlaps.check(l, reach, *reach_link);
      } else if (l.first > reach + 1 && !compacted) {
        for (const auto& g : uncovered(r.gaps, reach + 1, l.first - 1))
          hole(l.key, g,
               fmt::format("offsets {}..{} between {} and this segment are missing and not recorded as a gap",
                           g.first_offset, g.last_offset, reach_link->key));
      }
    }
    overlaps.add(l);
    if (!reach_link || l.last > reach) {
      reach = l.last;
      reach_link = &l;
    }
  }

  if (!compacted) check_inside_segments(r, links);
  if (cp && !cp->last_segment.empty()) check_tail(r, links, *cp, checkpoint_key, reach);
  return r;
}

std::optional<std::string> segment_mismatch(const segment_index& index, std::string_view topic, std::int32_t partition,
                                            std::int64_t first, std::int64_t last) {
  if (index.header.topic != topic || index.header.partition != partition)
    return fmt::format("holds {}-{}, not {}-{}", index.header.topic, index.header.partition, topic, partition);
  if (index.first_offset() != first || index.last_offset() != last)
    return fmt::format("name says offsets {}..{}, its index {}..{}", first, last, index.first_offset(),
                       index.last_offset());
  return std::nullopt;
}

}  // namespace kb::storage::format
