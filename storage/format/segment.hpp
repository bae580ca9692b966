// The backup segment (`.kbs`, docs/format.md): whole raw record batches packed into
// independently compressed frames, an index footer (batches, frames, transactional spans,
// gaps) and XXH3-64 checksums. Knows offsets and timestamps as plain integers, nothing of Kafka.
// This header gathers the parts; each lives in its own file:
//   frame_codec.hpp      frame compression and decompression
//   segment_index.hpp    the index entries and their queries
//   segment_builder.hpp  writing a segment
//   segment_reader.hpp   parsing a whole segment, or its index and frames by range reads
#pragma once

#include "storage/format/frame_codec.hpp"
#include "storage/format/segment_builder.hpp"
#include "storage/format/segment_index.hpp"
#include "storage/format/segment_reader.hpp"
