// The byte check of an accepted overlap (chain_overlap): do two segments of one partition hold
// byte-identical batches where they share offsets? Used by `validate --deep`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "storage/format/segment_chain.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::storage::format {

/// Reads (range reads, frame checksums verified) the batches `later` holds in [first, last] and
/// the same batches in `earlier`, and compares their bytes. nullopt when every one is identical;
/// otherwise what differs, naming the offsets (not the keys: the caller reports under them).
/// Both links need their index. An error is a failed read or a corrupt frame.
[[nodiscard]] kb::result<std::optional<std::string>> compare_overlap(object_store& store, const chain_link& later,
                                                                     const chain_link& earlier,
                                                                     std::int64_t first_offset,
                                                                     std::int64_t last_offset);

}  // namespace kb::storage::format
