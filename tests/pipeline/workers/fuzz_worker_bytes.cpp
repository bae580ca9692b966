// Fuzz target: arbitrary bytes as another worker's member metadata and assignment (untrusted:
// they come from other processes through the group coordinator). Decoding must never crash,
// and whatever decodes must encode back to bytes that decode to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "pipeline/workers/assignor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace w = kb::pipeline::workers;
  const kb::byte_view bytes(data, size);
  if (auto m = w::decode_member_metadata(bytes)) {
    auto again = w::decode_member_metadata(std::span<const std::byte>(w::encode_member_metadata(*m)));
    if (!again || again->member_id != m->member_id || again->owned != m->owned) std::abort();
  }
  if (auto a = w::decode_assignment(bytes)) {
    auto again = w::decode_assignment(std::span<const std::byte>(w::encode_assignment(a->partitions, a->generation)));
    if (!again || again->generation != a->generation || again->partitions != a->partitions) std::abort();
  }
  return 0;
}
