// Fuzz target: batch columns. First byte even: the rest, with every v2 batch's CRC made right so
// that mutated records reach the column split, must split and join back to exactly itself, and
// its column form with one byte changed or cut in half must be refused or rebuilt to size. Odd:
// the rest is read as a column form (raw size from the next 3 bytes) and must not misbehave.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/crc32c.hpp"
#include "protocol/records/batch_columns.hpp"
#include "protocol/records/record_batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void fix_crcs(kb::byte_vector& b) {
  std::size_t pos = 0;
  while (b.size() - pos >= kb::protocol::batch_header_size) {
    const std::uint8_t* p = b.data() + pos;
    const auto length = static_cast<std::int32_t>((std::uint32_t{p[8]} << 24) | (std::uint32_t{p[9]} << 16) |
                                                  (std::uint32_t{p[10]} << 8) | std::uint32_t{p[11]});
    if (length < 0 || static_cast<std::size_t>(length) > b.size() - pos - 12) return;
    const std::size_t end = pos + 12 + static_cast<std::size_t>(length);
    if (p[kb::protocol::batch_magic_offset] == 2 && end - pos >= kb::protocol::batch_header_size) {
      const std::uint32_t crc = kb::crc32c(kb::byte_view(b).subspan(pos + 21, end - pos - 21));
      for (int i = 0; i < 4; ++i) b[pos + 17 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
    }
    pos = end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kb::protocol;
  if (size == 0) return 0;
  if ((data[0] & 1u) == 0) {
    kb::byte_vector raw(data + 1, data + size);
    fix_crcs(raw);
    const kb::byte_vector columns = split_batch_columns(raw);
    if (columns.size() > max_batch_columns_size(raw.size())) __builtin_trap();
    auto back = join_batch_columns(columns, raw.size());
    if (!back || *back != raw) __builtin_trap();
    if (!columns.empty()) {  // a damaged column form must be refused or rebuild to the stated size
      kb::byte_vector damaged = columns;
      damaged[size % damaged.size()] ^= static_cast<std::uint8_t>(data[0] | 1u);
      auto d = join_batch_columns(damaged, raw.size());
      if (d && d->size() != raw.size()) __builtin_trap();
      (void)join_batch_columns(kb::byte_view(columns).first(columns.size() / 2), raw.size());
    }
  } else if (size >= 4) {
    const std::size_t raw_size = (std::size_t{data[1]} << 16) | (std::size_t{data[2]} << 8) | data[3];
    auto out = join_batch_columns(kb::byte_view(data + 4, size - 4), raw_size);
    if (out && out->size() != raw_size) __builtin_trap();
  }
  return 0;
}
