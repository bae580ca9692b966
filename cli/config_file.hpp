// Reads a configuration file from disk with the checks a path given by a user needs: only a
// regular file, and at most k_max_config_bytes of it (so `--config /dev/zero` fails at once).
#pragma once

#include <cstddef>
#include <string>

#include "base/error.hpp"

namespace kb::cli {

/// A configuration larger than this is refused: real configs are a few KiB.
inline constexpr std::size_t k_max_config_bytes = std::size_t{4} << 20;

/// The whole text of `path`. errc::config naming the path and the fix when it cannot be opened,
/// is a directory or another non-regular file (device, FIFO, socket), or exceeds `limit` bytes.
[[nodiscard]] kb::result<std::string> read_config_file(const std::string& path,
                                                       std::size_t limit = k_max_config_bytes);

}  // namespace kb::cli
