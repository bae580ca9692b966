// Fuzz target: parse arbitrary bytes as a segment, and as a segment whose checksums were
// re-sealed so that the index and frame parsers see fuzzed fields, not just checksum failures.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <xxhash.h>

#include "storage/format/segment.hpp"
#include "storage/format/segment_layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void put64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t get64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}

/// Recomputes every checksum the trailer and index name, trusting the fuzzed offsets.
void reseal(kb::byte_vector& seg) {
  namespace L = kb::storage::format::layout;
  if (seg.size() < L::trailer_size) return;
  std::uint8_t* t = seg.data() + seg.size() - L::trailer_size;
  const std::uint64_t body = seg.size() - L::trailer_size;
  const std::uint64_t index_offset = get64(t);
  const std::uint64_t index_length = get64(t + 8);
  if (index_offset <= body && index_length <= body - index_offset) {
    std::uint8_t* idx = seg.data() + index_offset;
    // Frame checksums inside the index, where the frame entries fit.
    if (index_length >= L::index_fixed_size) {
      const std::uint64_t topic_length = idx[40] | (std::uint64_t{idx[41]} << 8);
      std::uint32_t frames = 0;
      std::memcpy(&frames, idx + 24, 4);
      std::uint64_t at = L::index_fixed_size + topic_length;
      for (std::uint32_t i = 0; i < frames && at + L::frame_entry_size <= index_length; ++i, at += L::frame_entry_size) {
        const std::uint64_t off = get64(idx + at);
        std::uint32_t stored = 0;
        std::memcpy(&stored, idx + at + 8, 4);
        if (off <= body && stored <= body - off) put64(idx + at + 56, XXH3_64bits(seg.data() + off, stored));
      }
    }
    put64(t + 16, XXH3_64bits(idx, index_length));
  }
  put64(t + 24, XXH3_64bits(seg.data(), body));
  std::uint8_t covered[L::trailer_size - 8];
  std::memcpy(covered, t, 32);
  std::memcpy(covered + 32, t + 40, L::trailer_size - 40);
  put64(t + 32, XXH3_64bits(covered, sizeof covered));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const kb::byte_view input(data, size);
  (void)kb::storage::format::parse_segment(input);
  kb::byte_vector sealed(data, data + size);
  reseal(sealed);
  auto idx = kb::storage::format::parse_segment(sealed);
  if (idx) {
    (void)idx->first_offset();
    (void)idx->record_count();
  }
  return 0;
}
