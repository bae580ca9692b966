// Installs the frame filters whose code lives above storage (the Kafka batch columns of format
// version 2) so that segments can be written and read with them.
#pragma once

#include <cstdint>

#include "storage/format/frame_codec.hpp"

namespace kb::pipeline {

/// Idempotent and thread-safe; every program and test that writes or reads version-2 segments
/// calls it before it does.
void install_frame_filters();

/// The filter a new segment gets: the batch columns whenever frames are compressed.
[[nodiscard]] std::uint8_t frame_filter_for(storage::format::frame_codec codec) noexcept;

/// The raw bytes a backup puts in one frame: 8 MiB for zstd, whose window then finds repeats of
/// values written megabytes apart (10 KB JSON records: a third of the 1 MiB size), 1 MiB otherwise
/// (lz4 looks back 64 KiB only; uncompressed frames gain nothing from size).
[[nodiscard]] std::uint32_t frame_target_bytes_for(storage::format::frame_codec codec) noexcept;

}  // namespace kb::pipeline
