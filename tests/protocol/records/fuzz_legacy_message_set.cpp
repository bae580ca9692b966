// Fuzz target: arbitrary bytes as a legacy (magic 0/1) message set, including compressed
// wrappers whose inner sets are parsed after decompression.
#include <cstddef>
#include <cstdint>

#include "protocol/records/record_batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kb::protocol;
  auto split = split_batches(kb::shared_bytes(kb::byte_vector(data, data + size)));
  if (!split) return 0;
  for (const auto& b : split->batches) {
    record_reader_options opt;
    opt.verify_crc = (size & 1) != 0;  // half the inputs also exercise the CRC path
    opt.max_decompressed = std::size_t{16} << 20;
    auto reader = record_reader::open(b.bytes, opt);
    if (!reader) continue;
    record r;
    for (int i = 0; i < 100000; ++i) {
      auto more = reader->next(r);
      if (!more || !*more) break;
    }
  }
  return 0;
}
