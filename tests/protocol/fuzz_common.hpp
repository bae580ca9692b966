// Shared body of the protocol fuzz targets: decode the input as message M at every version we
// speak; whenever it decodes, re-encoding and decoding again must give identical bytes.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstdlib>

#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol::fuzz {

template <class M>
void decode_at_every_version(const std::uint8_t* data, std::size_t size) {
  const shared_bytes input(byte_vector(data, data + size));
  const api_support* s = find_support(M::key);
  for (std::int16_t v = s->min_version; v <= s->max_version; ++v) {
    reader r(input);
    auto msg = M::decode(r, v);
    if (!msg) continue;
    writer once;
    msg->encode(once, v);
    if (once.failure()) continue;  // a field the wire type cannot hold is refused, not re-encoded
    reader again{shared_bytes(byte_vector(once.view().begin(), once.view().end()))};
    auto msg2 = M::decode(again, v);
    if (!msg2 || again.remaining() != 0) std::abort();
    writer twice;
    msg2->encode(twice, v);
    if (!std::equal(once.view().begin(), once.view().end(), twice.view().begin(),
                    twice.view().end()))
      std::abort();
  }
}

}  // namespace kb::protocol::fuzz
