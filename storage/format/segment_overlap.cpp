// The byte check of an overlap between two segments (see segment_overlap.hpp).
#include "storage/format/segment_overlap.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "storage/format/segment.hpp"

namespace kb::storage::format {

namespace {

/// One segment's frames, read one at a time as the batches walk forward.
class frame_cursor {
 public:
  frame_cursor(object_store& store, const chain_link& link) : store_(store), link_(link) {}

  kb::result<byte_view> batch_bytes(const batch_entry& e) {
    if (!loaded_ || frame_ != e.frame) {
      auto raw = read_frame(store_, link_.key, *link_.index, e.frame);
      if (!raw) return fail(std::move(raw.error()));
      bytes_ = std::move(*raw);
      frame_ = e.frame;
      loaded_ = true;
    }
    if (static_cast<std::uint64_t>(e.position) + e.size > bytes_.size()) {
      return fail(errc::corrupt, fmt::format("segment {}: batch at offset {} lies past the end of frame {}", link_.key,
                                             e.first_offset, e.frame));
    }
    return byte_view(bytes_).subspan(e.position, e.size);
  }

 private:
  object_store& store_;
  const chain_link& link_;
  byte_vector bytes_;
  std::uint32_t frame_ = 0;
  bool loaded_ = false;
};

}  // namespace

kb::result<std::optional<std::string>> compare_overlap(object_store& store, const chain_link& later,
                                                       const chain_link& earlier, std::int64_t first_offset,
                                                       std::int64_t last_offset) {
  if (!later.index || !earlier.index) {
    return fail(errc::internal, fmt::format("comparing {} with {}: an index is missing", later.key, earlier.key));
  }
  frame_cursor mine(store, later);
  frame_cursor theirs(store, earlier);
  const auto& other = earlier.index->batches;
  for (const auto& b : later.index->batches) {
    if (b.first_offset < first_offset) continue;
    if (b.first_offset > last_offset) break;
    const auto it = std::lower_bound(other.begin(), other.end(), b.first_offset,
                                     [](const batch_entry& e, std::int64_t o) { return e.first_offset < o; });
    if (it == other.end() || it->first_offset != b.first_offset || it->size != b.size) {
      return std::optional<std::string>(
          fmt::format("the batch at offset {} is not in both with the same size", b.first_offset));
    }
    auto a = mine.batch_bytes(b);
    if (!a) return fail(std::move(a.error()));
    auto c = theirs.batch_bytes(*it);
    if (!c) return fail(std::move(c.error()));
    if (std::memcmp(a->data(), c->data(), a->size()) != 0) {
      std::size_t at = 0;
      while (at < a->size() && (*a)[at] == (*c)[at]) ++at;
      return std::optional<std::string>(fmt::format("the batch {}..{} differs from byte {} of its {}", b.first_offset,
                                                    b.last_offset, at, b.size));
    }
  }
  return std::optional<std::string>{};
}

}  // namespace kb::storage::format
