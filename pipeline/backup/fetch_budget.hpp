// How much memory one backup fetch needs: the fetch size actually used and the smallest
// memory budget (`backup.max_buffer_bytes`) a backup can make progress in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace kb::pipeline::backup {

/// The smallest fetch request the engine sends (bytes).
inline constexpr std::uint32_t min_fetch_bytes = 64u << 10;
/// A fetch is sent only when this much of the budget is free (or fetch_max_bytes, if smaller):
/// asking for less would return a few batches per round trip.
inline constexpr std::uint64_t fetch_floor_bytes = 1u << 20;

/// The fetch size used: `backup.fetch_max_bytes`, else min(segment_max_bytes, 16 MiB); never
/// below min_fetch_bytes.
[[nodiscard]] constexpr std::uint32_t effective_fetch_max_bytes(std::optional<std::uint32_t> configured,
                                                                std::uint64_t segment_max_bytes) noexcept {
  const std::uint32_t v =
      configured ? *configured : static_cast<std::uint32_t>(std::min<std::uint64_t>(segment_max_bytes, 16u << 20));
  return std::max(v, min_fetch_bytes);
}

/// The free budget a fetch waits for. A budget below it never lets a fetch go: the backup
/// would wait for memory that nothing in flight will free.
[[nodiscard]] constexpr std::uint64_t min_buffer_bytes(std::uint32_t fetch_max_bytes) noexcept {
  return std::min<std::uint64_t>(fetch_max_bytes, fetch_floor_bytes);
}

}  // namespace kb::pipeline::backup
