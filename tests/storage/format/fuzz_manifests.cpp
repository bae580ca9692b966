// libFuzzer target: the JSON documents a backup keeps beside its segments — backup.json,
// topic.json, checkpoints, group snapshots, the lease — and segment file names. They come back
// from a store anyone may have edited, so every parser must refuse garbage with an error value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "storage/format/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace F = kb::storage::format;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)F::parse_backup_manifest(text);
  (void)F::parse_topic_manifest(text);
  (void)F::parse_checkpoint(text);
  (void)F::parse_group_snapshot(text);
  (void)F::parse_lease(text);
  (void)F::parse_segment_file_name(text);
  return 0;
}
