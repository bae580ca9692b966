// Fuzz target: split arbitrary bytes as a fetch response's records, check each batch's CRC,
// iterate its records (decompressing), parse control records and patch v2 headers.
#include <cstddef>
#include <cstdint>

#include "protocol/records/record_batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kb::protocol;
  const kb::shared_bytes all(kb::byte_vector(data, data + size));
  batch_splitter splitter(all);
  for (int guard = 0; guard < 10000; ++guard) {
    auto b = splitter.next();
    if (!b || !*b) break;
    (void)check_batch_crc((*b)->bytes.view());
    record_reader_options opt;
    opt.verify_crc = false;  // reach the record parser with fuzzed bytes
    opt.max_decompressed = std::size_t{16} << 20;
    auto reader = record_reader::open((*b)->bytes, opt);
    if (reader) {
      record r;
      for (int i = 0; i < 100000; ++i) {
        auto more = reader->next(r);
        if (!more || !*more) break;
        if (reader->is_control()) (void)parse_control_record(r);
      }
    }
    if ((*b)->magic == 2) {
      kb::byte_vector copy((*b)->bytes.view().begin(), (*b)->bytes.view().end());
      batch_header_patch p;
      p.producer_id = -1;
      p.base_sequence = -1;
      if (patch_batch_header(copy, p) && !check_batch_crc(copy)) __builtin_trap();
    }
  }
  return 0;
}
