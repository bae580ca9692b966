// Reads `.kbs` segments: the whole file with every checksum verified, or only the trailer and
// index, and single frames, by range reads from an object store.
#include "storage/format/segment_reader.hpp"

#include <fmt/format.h>

#include "storage/format/frame_codec.hpp"
#include "storage/format/segment_index_codec.hpp"
#include "storage/format/segment_layout.hpp"
#include "storage/object_store.hpp"

namespace kb::storage::format {

namespace L = layout;
using detail::parse_header;
using detail::parse_index;
using detail::parse_trailer;
using detail::xxh3;

kb::result<segment_index> parse_segment(byte_view segment) {
  constexpr std::string_view what = "segment";
  const std::uint64_t size = segment.size();
  if (size < L::trailer_size)
    return fail(errc::corrupt, fmt::format("{}: {} bytes is too short to be a segment (truncated?)", what, size));
  auto t = parse_trailer(segment.subspan(size - L::trailer_size), size, what);
  if (!t) return fail(std::move(t.error()));
  if (xxh3(segment.first(size - L::trailer_size)) != t->file_xxh3)
    return fail(errc::corrupt, fmt::format("{}: file checksum mismatch (some byte before the trailer changed)", what));
  const byte_view index_bytes = segment.subspan(t->index_offset, t->index_length);
  if (xxh3(index_bytes) != t->index_xxh3) return fail(errc::corrupt, fmt::format("{}: index checksum mismatch", what));
  std::uint32_t header_length = 0;
  auto idx = parse_index(index_bytes, t->index_offset, what, header_length, t->version);
  if (!idx) return idx;
  auto h = parse_header(segment.first(header_length), what, t->version);
  if (!h) return fail(std::move(h.error()));
  h->filter = idx->header.filter;
  if (*h != idx->header)
    return fail(errc::corrupt, fmt::format("{}: header ({} partition {}) differs from the index copy ({} partition {})",
                                           what, h->topic, h->partition, idx->header.topic, idx->header.partition));
  for (std::size_t i = 0; i < idx->frames.size(); ++i) {
    const auto& f = idx->frames[i];
    const byte_view stored = segment.subspan(f.file_offset, f.stored_size);
    if (xxh3(stored) != f.xxh3) return fail(errc::corrupt, fmt::format("{}: frame {} checksum mismatch", what, i));
    auto raw = decode_frame(idx->header.codec, stored, f.raw_size, idx->header.filter);
    if (!raw) return fail(raw.error().code, fmt::format("{}: frame {}: {}", what, i, raw.error().message));
  }
  idx->file_size = size;
  idx->file_xxh3 = t->file_xxh3;
  return idx;
}

kb::result<segment_index> read_segment_index(object_store& store, std::string_view key,
                                             std::optional<std::uint64_t> size) {
  if (!size) {
    auto meta = store.head(key);
    if (!meta) return fail(std::move(meta.error()));
    size = meta->size;
  }
  if (*size < L::trailer_size)
    return fail(errc::corrupt, fmt::format("segment {}: {} bytes is too short to be a segment (truncated?)", key, *size));
  auto tail = store.get_range(key, *size - L::trailer_size, L::trailer_size);
  if (!tail) return fail(std::move(tail.error()));
  auto t = parse_trailer(*tail, *size, fmt::format("segment {}", key));
  if (!t) return fail(std::move(t.error()));
  auto bytes = store.get_range(key, t->index_offset, t->index_length);
  if (!bytes) return fail(std::move(bytes.error()));
  if (bytes->size() != t->index_length)
    return fail(errc::corrupt, fmt::format("segment {}: index range read returned {} of {} bytes (object changed or "
                                           "truncated?)", key, bytes->size(), t->index_length));
  if (xxh3(*bytes) != t->index_xxh3) return fail(errc::corrupt, fmt::format("segment {}: index checksum mismatch", key));
  std::uint32_t header_length = 0;
  auto idx = parse_index(*bytes, t->index_offset, fmt::format("segment {}", key), header_length, t->version);
  if (!idx) return idx;
  idx->file_size = *size;
  idx->file_xxh3 = t->file_xxh3;
  return idx;
}

kb::result<byte_vector> read_frame(object_store& store, std::string_view key, const segment_index& index,
                                   std::uint32_t frame) {
  if (frame >= index.frames.size())
    return fail(errc::invalid_argument, fmt::format("segment {}: no frame {} (it has {})", key, frame, index.frames.size()));
  const auto& f = index.frames[frame];
  auto stored = store.get_range(key, f.file_offset, f.stored_size);
  if (!stored) return fail(std::move(stored.error()));
  if (stored->size() != f.stored_size)
    return fail(errc::corrupt, fmt::format("segment {}: frame {} range read returned {} of {} bytes (truncated?)", key,
                                           frame, stored->size(), f.stored_size));
  if (xxh3(*stored) != f.xxh3) return fail(errc::corrupt, fmt::format("segment {}: frame {} checksum mismatch", key, frame));
  auto raw = decode_frame(index.header.codec, std::move(*stored), f.raw_size, index.header.filter);  // none: moved
  if (!raw) return fail(raw.error().code, fmt::format("segment {}: frame {} ({}): {}", key, frame,
                                                   frame_codec_name(index.header.codec), raw.error().message));
  return raw;
}

std::string segment_file_name(std::int64_t first_offset, std::int64_t last_offset) {
  return fmt::format("{:020}-{:020}.kbs", first_offset, last_offset);
}

}  // namespace kb::storage::format
