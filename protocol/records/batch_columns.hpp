// Batch columns: a reversible rewrite of a run of record batches that puts like with like (batch
// header fields, record fields, keys, values, header bytes) so that a general-purpose compressor
// finds the redundancy that record framing interleaves; the rebuild is byte-exact.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::protocol {

/// The largest column form of `raw_size` input bytes: split_batch_columns never returns more.
[[nodiscard]] constexpr std::size_t max_batch_columns_size(std::size_t raw_size) noexcept {
  return raw_size + raw_size / 2 + 64;
}

struct batch_columns_stats {
  std::size_t batches = 0;   ///< split into columns
  std::size_t verbatim = 0;  ///< carried as they are (compressed, legacy, not rebuilt exactly)
};

/// Rewrites `raw` (whole batches back to back: v2 batches and v0/v1 entries; any bytes are
/// accepted) into column form. Never fails: a batch that does not rebuild byte for byte from its
/// columns (compressed records, legacy entries, varints not in shortest form, a wrong CRC) is
/// carried verbatim, and so is anything that is not a whole batch. Each split batch is rebuilt
/// and compared before it is kept, so `join_batch_columns` of the result is exactly `raw`.
[[nodiscard]] byte_vector split_batch_columns(byte_view raw, batch_columns_stats* stats = nullptr);
/// The same into `out` (cleared first), whose memory the caller may reuse from frame to frame.
void split_batch_columns(byte_view raw, byte_vector& out, batch_columns_stats* stats = nullptr);

/// The inverse: rebuilds exactly `raw_size` bytes. errc::corrupt for anything malformed,
/// including a result of any other size; never allocates more than `raw_size` for the output.
[[nodiscard]] result<byte_vector> join_batch_columns(byte_view columns, std::size_t raw_size);

}  // namespace kb::protocol
