// murmur2 as Kafka's Java client computes it (32-bit wrap-around arithmetic, little-endian words).
#include "pipeline/restore/partitioner.hpp"

namespace kb::pipeline::restore {

std::int32_t murmur2(byte_view data) noexcept {
  const std::uint32_t length = static_cast<std::uint32_t>(data.size());
  constexpr std::uint32_t seed = 0x9747b28cu;
  constexpr std::uint32_t m = 0x5bd1e995u;
  constexpr int r = 24;
  std::uint32_t h = seed ^ length;
  const std::uint32_t length4 = length / 4;
  for (std::uint32_t i = 0; i < length4; ++i) {
    const std::size_t i4 = std::size_t{i} * 4;
    std::uint32_t k = std::uint32_t{data[i4]} | (std::uint32_t{data[i4 + 1]} << 8) |
                      (std::uint32_t{data[i4 + 2]} << 16) | (std::uint32_t{data[i4 + 3]} << 24);
    k *= m;
    k ^= k >> r;  // Java's >>> on int: a logical shift
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::size_t tail = length & ~3u;
  switch (length % 4) {
    case 3: h ^= std::uint32_t{data[tail + 2]} << 16; [[fallthrough]];
    case 2: h ^= std::uint32_t{data[tail + 1]} << 8; [[fallthrough]];
    case 1:
      h ^= std::uint32_t{data[tail]};
      h *= m;
      break;
    default: break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

std::int32_t partition_for_key(byte_view key, std::int32_t partitions) noexcept {
  const std::uint32_t positive = static_cast<std::uint32_t>(murmur2(key)) & 0x7fffffffu;
  return static_cast<std::int32_t>(positive % static_cast<std::uint32_t>(partitions));
}

}  // namespace kb::pipeline::restore
