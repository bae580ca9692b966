// CRC-32C (Castagnoli, polynomial 0x1EDC6F41), used by Kafka record batches v2 and S3 upload
// checksums: an SSE4.2 `crc32` path (three interleaved streams) chosen at run time, and a table fallback.
#pragma once

#include <cstdint>

#include "base/bytes.hpp"

namespace kb {

/// CRC-32C of `data`, using the fastest implementation this CPU supports.
[[nodiscard]] std::uint32_t crc32c(byte_view data) noexcept;

/// Continues a CRC-32C: `crc32c_extend(crc32c(a), b) == crc32c(a ++ b)`. Start from 0.
[[nodiscard]] std::uint32_t crc32c_extend(std::uint32_t crc, byte_view data) noexcept;

/// Portable slicing-by-8 table implementation (same contract as `crc32c_extend`).
[[nodiscard]] std::uint32_t crc32c_portable(std::uint32_t crc, byte_view data) noexcept;

/// SSE4.2 implementation (same contract). Precondition: `crc32c_hardware_available()`;
/// without it this falls back to the portable path rather than faulting.
[[nodiscard]] std::uint32_t crc32c_hardware(std::uint32_t crc, byte_view data) noexcept;

/// True when the CPU has the SSE4.2 `crc32` instruction (always false off x86-64).
[[nodiscard]] bool crc32c_hardware_available() noexcept;

}  // namespace kb
