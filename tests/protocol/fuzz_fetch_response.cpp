// libFuzzer target: FetchResponse bodies (after the response header) at versions 4..17.
#include <cstddef>
#include <cstdint>

#include "protocol/fetch.hpp"
#include "tests/protocol/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kb::protocol::fuzz::decode_at_every_version<kb::protocol::fetch_response>(data, size);
  return 0;
}
