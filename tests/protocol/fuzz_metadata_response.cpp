// libFuzzer target: MetadataResponse bodies (after the response header) at versions 1..13.
#include <cstddef>
#include <cstdint>

#include "protocol/metadata.hpp"
#include "tests/protocol/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kb::protocol::fuzz::decode_at_every_version<kb::protocol::metadata_response>(data, size);
  return 0;
}
