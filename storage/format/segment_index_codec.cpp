// Encoding and checked decoding of the `.kbs` header, index and trailer. The byte layout is
// documented in docs/format.md; keep the two in step.
#include "storage/format/segment_index_codec.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>

#include <fmt/format.h>
#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>  // XXH3 calls use the widest vector unit the CPU has (AVX2, AVX-512)
#endif

#include "storage/format/byte_io.hpp"
#include "storage/format/frame_filter.hpp"
#include "storage/format/segment_layout.hpp"

namespace kb::storage::format::detail {

namespace {

namespace L = layout;


/// The trailer checksum covers the trailer's own bytes except the checksum field.
std::uint64_t trailer_checksum(byte_view trailer) noexcept {
  std::array<std::uint8_t, L::trailer_size - 8> buf{};
  std::memcpy(buf.data(), trailer.data(), L::trailer_checksum_at);
  std::memcpy(buf.data() + L::trailer_checksum_at, trailer.data() + L::trailer_checksum_at + 8,
              L::trailer_size - L::trailer_checksum_at - 8);
  return XXH3_64bits(buf.data(), buf.size());
}

bool valid_codec(std::uint8_t c) noexcept { return c <= static_cast<std::uint8_t>(frame_codec::zstd); }
bool known_version(std::uint16_t v) noexcept {
  return v == segment_format_version || v == segment_format_version_filtered;
}

std::int64_t min_ts(std::int64_t a, std::int64_t b) noexcept {
  if (a < 0) return b;
  if (b < 0) return a;
  return std::min(a, b);
}
std::int64_t max_ts(std::int64_t a, std::int64_t b) noexcept { return std::max(a, b); }

/// Reads the index entries after the topic; an error names the bad field.
std::string read_entries(reader& r, segment_index& idx, std::uint64_t frame_count, std::uint64_t batch_count,
                         std::uint64_t txn_count, std::uint64_t gap_count) {
  idx.frames.resize(frame_count);
  for (auto& f : idx.frames) {
    f.file_offset = r.u64();
    f.stored_size = r.u32();
    f.raw_size = r.u32();
    f.first_batch = r.u32();
    f.batch_count = r.u32();
    f.first_offset = r.i64();
    f.last_offset = r.i64();
    f.min_timestamp = r.i64();
    f.max_timestamp = r.i64();
    f.xxh3 = r.u64();
  }
  idx.batches.resize(batch_count);
  for (auto& b : idx.batches) {
    b.first_offset = r.i64();
    b.last_offset = r.i64();
    b.first_timestamp = r.i64();
    b.max_timestamp = r.i64();
    b.record_count = r.i32();
    b.flags = r.u16();
    b.producer_epoch = r.i16();
    b.producer_id = r.i64();
    b.base_sequence = r.i32();
    b.frame = r.u32();
    b.position = r.u32();
    b.size = r.u32();
  }
  idx.txns.resize(txn_count);
  for (auto& t : idx.txns) {
    t.producer_id = r.i64();
    t.producer_epoch = r.i16();
    const std::uint8_t outcome = r.u8();
    (void)r.u8();
    t.first_offset = r.i64();
    t.last_offset = r.i64();
    if (outcome > static_cast<std::uint8_t>(txn_outcome::aborted))
      return fmt::format("txn span of producer {} has unknown outcome {}", t.producer_id, outcome);
    t.outcome = static_cast<txn_outcome>(outcome);
  }
  idx.gaps.resize(gap_count);
  for (auto& g : idx.gaps) {
    g.first_offset = r.i64();
    g.last_offset = r.i64();
  }

  if (!r.ok() || r.remaining() != 0) return "length arithmetic is off (internal)";
  return {};
}

/// Frames are back to back from the end of the header to the start of the index, and their
/// batches are consecutive, in offset order, and fill the frame's raw bytes exactly. Returns what is wrong.
std::string check_frames(const segment_index& idx, std::uint64_t header_length, std::uint64_t index_offset) {
  const std::uint64_t batch_count = idx.batches.size();
  std::uint64_t expect_offset = header_length;
  std::uint64_t expect_batch = 0;
  std::int64_t prev_last = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < idx.frames.size(); ++i) {
    const auto& f = idx.frames[i];
    if (f.file_offset != expect_offset)
      return fmt::format("frame {} starts at {}, expected {}", i, f.file_offset, expect_offset);
    if (f.stored_size == 0 || f.raw_size == 0 || f.batch_count == 0)
      return fmt::format("frame {} is empty", i);
    if (f.first_batch != expect_batch || f.batch_count > batch_count - expect_batch)
      return fmt::format("frame {} claims batches {}+{}, expected to start at {} of {}", i, f.first_batch,
                             f.batch_count, expect_batch, batch_count);
    if (idx.header.codec == frame_codec::none && f.stored_size != f.raw_size)
      return fmt::format("frame {} is uncompressed but stores {} bytes for {} raw", i, f.stored_size, f.raw_size);
    if (idx.header.codec != frame_codec::none && f.raw_size > L::max_frame_raw_bytes)
      return fmt::format("frame {} claims {} raw bytes, more than the limit {}", i, f.raw_size,
                             L::max_frame_raw_bytes);
    std::uint64_t pos = 0;
    frame_entry times;
    for (std::uint32_t k = 0; k < f.batch_count; ++k) {
      const std::size_t bi = f.first_batch + k;
      const auto& b = idx.batches[bi];
      if (b.frame != i || b.position != pos || b.size == 0)
        return fmt::format("batch {} (offset {}) is placed at frame {} position {} size {}, expected frame {} "
                               "position {}", bi, b.first_offset, b.frame, b.position, b.size, i, pos);
      if (b.first_offset > b.last_offset || b.first_offset <= prev_last || b.first_offset < 0)
        return fmt::format("batch {} offsets {}..{} are not increasing after {}", bi, b.first_offset,
                               b.last_offset, prev_last);
      if (b.record_count < 0) return fmt::format("batch {} has a negative record count", bi);
      prev_last = b.last_offset;
      pos += b.size;
      widen_frame_times(times, b);
    }
    if (pos != f.raw_size)
      return fmt::format("frame {} batches hold {} bytes, the frame {}", i, pos, f.raw_size);
    const auto& fb = idx.batches[f.first_batch];
    const auto& lb = idx.batches[f.first_batch + f.batch_count - 1];
    if (f.first_offset != fb.first_offset || f.last_offset != lb.last_offset)
      return fmt::format("frame {} offsets {}..{} differ from its batches {}..{}", i, f.first_offset,
                             f.last_offset, fb.first_offset, lb.last_offset);
    if (f.min_timestamp != times.min_timestamp || f.max_timestamp != times.max_timestamp)
      return fmt::format("frame {} timestamps differ from its batches", i);
    expect_offset += f.stored_size;
    expect_batch += f.batch_count;
  }
  if (expect_offset != index_offset)
    return fmt::format("frames end at {}, the index starts at {}", expect_offset, index_offset);
  if (expect_batch != batch_count) return fmt::format("{} batches belong to no frame", batch_count - expect_batch);
  for (std::size_t i = 0; i < idx.txns.size(); ++i)
    if (idx.txns[i].first_offset > idx.txns[i].last_offset)
      return fmt::format("txn span {} runs backwards", i);
  return {};
}

/// Gaps are sorted, disjoint, and never cover a stored batch. Returns what is wrong.
std::string check_gaps(const segment_index& idx) {
  std::size_t bi = 0;
  for (std::size_t i = 0; i < idx.gaps.size(); ++i) {
    const auto& g = idx.gaps[i];
    if (g.first_offset > g.last_offset || g.first_offset < 0 ||
        (i > 0 && g.first_offset <= idx.gaps[i - 1].last_offset))
      return fmt::format("gap {} ({}..{}) is backwards or overlaps the previous one", i, g.first_offset,
                             g.last_offset);
    while (bi < idx.batches.size() && idx.batches[bi].last_offset < g.first_offset) ++bi;
    // A gap may cover the leading offsets of one batch (log start inside it), never more.
    if (bi < idx.batches.size() && idx.batches[bi].first_offset <= g.last_offset &&
        (g.first_offset > idx.batches[bi].first_offset || g.last_offset >= idx.batches[bi].last_offset))
      return fmt::format("gap {} ({}..{}) overlaps stored batch at offset {}", i, g.first_offset, g.last_offset,
                             idx.batches[bi].first_offset);
  }
  return {};
}

}  // namespace

std::uint64_t xxh3(byte_view b) noexcept { return XXH3_64bits(b.data(), b.size()); }

void widen_frame_times(frame_entry& f, const batch_entry& b) noexcept {
  f.min_timestamp = min_ts(f.min_timestamp, min_ts(b.first_timestamp, b.max_timestamp));
  f.max_timestamp = max_ts(f.max_timestamp, max_ts(b.first_timestamp, b.max_timestamp));
}

// ---------------------------------------------------------------------------------------------
// Encoding of the header, index and trailer.

void write_header(byte_vector& out, const segment_header& h, int level) {
  writer w(out);
  w.bytes(byte_view(L::header_magic));
  w.u16(h.format_version());
  w.u8(static_cast<std::uint8_t>(h.codec));
  w.u8(static_cast<std::uint8_t>(static_cast<std::int8_t>(std::clamp(level, -128, 127))));
  w.u32(static_cast<std::uint32_t>(L::header_fixed_size + h.topic.size()));
  w.i32(h.partition);
  w.i64(h.created_ms);
  w.u16(static_cast<std::uint16_t>(h.topic.size()));
  w.bytes(h.topic);
}

byte_vector encode_index(const segment_index& idx, std::uint32_t header_length) {
  byte_vector out;
  out.reserve(L::index_fixed_size + idx.header.topic.size() + idx.frames.size() * L::frame_entry_size +
              idx.batches.size() * L::batch_entry_size + idx.txns.size() * L::txn_entry_size +
              idx.gaps.size() * L::gap_entry_size);
  writer w(out);
  w.bytes(byte_view(L::index_magic));
  w.u16(idx.header.format_version());
  w.u8(static_cast<std::uint8_t>(idx.header.codec));
  w.u8(idx.header.filter);  // reserved (0) in version 1
  w.u32(header_length);
  w.i32(idx.header.partition);
  w.i64(idx.header.created_ms);
  w.u32(static_cast<std::uint32_t>(idx.frames.size()));
  w.u32(static_cast<std::uint32_t>(idx.batches.size()));
  w.u32(static_cast<std::uint32_t>(idx.txns.size()));
  w.u32(static_cast<std::uint32_t>(idx.gaps.size()));
  w.u16(static_cast<std::uint16_t>(idx.header.topic.size()));
  w.bytes(idx.header.topic);
  for (const auto& f : idx.frames) {
    w.u64(f.file_offset);
    w.u32(f.stored_size);
    w.u32(f.raw_size);
    w.u32(f.first_batch);
    w.u32(f.batch_count);
    w.i64(f.first_offset);
    w.i64(f.last_offset);
    w.i64(f.min_timestamp);
    w.i64(f.max_timestamp);
    w.u64(f.xxh3);
  }
  for (const auto& b : idx.batches) {
    w.i64(b.first_offset);
    w.i64(b.last_offset);
    w.i64(b.first_timestamp);
    w.i64(b.max_timestamp);
    w.i32(b.record_count);
    w.u16(b.flags);
    w.i16(b.producer_epoch);
    w.i64(b.producer_id);
    w.i32(b.base_sequence);
    w.u32(b.frame);
    w.u32(b.position);
    w.u32(b.size);
  }
  for (const auto& t : idx.txns) {
    w.i64(t.producer_id);
    w.i16(t.producer_epoch);
    w.u8(static_cast<std::uint8_t>(t.outcome));
    w.u8(0);
    w.i64(t.first_offset);
    w.i64(t.last_offset);
  }
  for (const auto& g : idx.gaps) {
    w.i64(g.first_offset);
    w.i64(g.last_offset);
  }
  return out;
}

void write_trailer(byte_vector& out, std::uint64_t index_offset, std::uint64_t index_length,
                   std::uint64_t index_xxh3, std::uint64_t file_xxh3, std::uint16_t version) {
  const std::size_t at = out.size();
  writer w(out);
  w.u64(index_offset);
  w.u64(index_length);
  w.u64(index_xxh3);
  w.u64(file_xxh3);
  w.u64(0);  // trailer checksum, filled below
  w.u16(version);
  w.u16(static_cast<std::uint16_t>(L::trailer_size));
  w.bytes(byte_view(L::trailer_magic));
  const std::uint64_t sum = trailer_checksum(byte_view(out).subspan(at, L::trailer_size));
  for (int i = 0; i < 8; ++i)
    out[at + L::trailer_checksum_at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum >> (8 * i));
}

kb::result<trailer_fields> parse_trailer(byte_view t, std::uint64_t file_size, std::string_view what) {
  if (file_size < L::header_fixed_size + L::index_fixed_size + L::trailer_size || t.size() != L::trailer_size)
    return fail(errc::corrupt, fmt::format("{}: {} bytes is too short to be a segment (truncated?)", what, file_size));
  if (std::memcmp(t.data() + L::trailer_size - 4, L::trailer_magic.data(), 4) != 0)
    return fail(errc::corrupt, fmt::format("{}: trailer magic missing: not a kafka-backup segment, or truncated", what));
  reader r(t);
  trailer_fields f;
  f.index_offset = r.u64();
  f.index_length = r.u64();
  f.index_xxh3 = r.u64();
  f.file_xxh3 = r.u64();
  const std::uint64_t stored_sum = r.u64();
  const std::uint16_t version = r.u16();
  const std::uint16_t trailer_length = r.u16();
  if (stored_sum != trailer_checksum(t))
    return fail(errc::corrupt, fmt::format("{}: trailer checksum mismatch", what));
  if (!known_version(version))
    return fail(errc::unsupported,
                fmt::format("{}: segment format version {}; this kafka-backup reads versions {} and {}: use a newer "
                            "kafka-backup to read this backup", what, version, segment_format_version,
                            segment_format_version_filtered));
  f.version = version;
  if (trailer_length != L::trailer_size)
    return fail(errc::corrupt, fmt::format("{}: trailer length {} is not {}", what, trailer_length, L::trailer_size));
  const std::uint64_t body = file_size - L::trailer_size;
  if (f.index_length < L::index_fixed_size || f.index_length > body || f.index_offset != body - f.index_length ||
      f.index_offset < L::header_fixed_size)
    return fail(errc::corrupt, fmt::format("{}: trailer places the index at {} (+{} bytes), which does not end where "
                                           "the trailer starts ({})", what, f.index_offset, f.index_length, body));
  return f;
}

/// Parses the index bytes and checks that they describe a consistent segment whose frames end
/// exactly at `index_offset`.
kb::result<segment_index> parse_index(byte_view bytes, std::uint64_t index_offset, std::string_view what,
                                      std::uint32_t& header_length_out, std::uint16_t trailer_version) {
  auto bad = [&](std::string m) { return fail(errc::corrupt, fmt::format("{}: index {}", what, m)); };
  if (bytes.size() < L::index_fixed_size || std::memcmp(bytes.data(), L::index_magic.data(), 4) != 0)
    return bad("magic missing");
  reader r(bytes.subspan(4));
  const std::uint16_t version = r.u16();
  if (version != trailer_version) return bad(fmt::format("version {} differs from the trailer's", version));
  segment_index idx;
  const std::uint8_t codec = r.u8();
  if (!valid_codec(codec)) return bad(fmt::format("names unknown frame codec {}", codec));
  idx.header.codec = static_cast<frame_codec>(codec);
  const std::uint8_t filter = r.u8();
  if (version == segment_format_version_filtered) {  // version 1: a reserved byte, not read
    if (!known_frame_filter(filter))
      return fail(errc::unsupported, fmt::format("{}: index names frame filter {}, unknown to this kafka-backup: use "
                                                 "a newer kafka-backup to read this backup", what, filter));
    idx.header.filter = filter;
  }
  const std::uint32_t header_length = r.u32();
  idx.header.partition = r.i32();
  idx.header.created_ms = r.i64();
  const std::uint64_t frame_count = r.u32();
  const std::uint64_t batch_count = r.u32();
  const std::uint64_t txn_count = r.u32();
  const std::uint64_t gap_count = r.u32();
  const std::uint64_t topic_length = r.u16();
  // Every count is checked against the bytes present before anything is allocated.
  const std::uint64_t need = L::index_fixed_size + topic_length + frame_count * L::frame_entry_size +
                             batch_count * L::batch_entry_size + txn_count * L::txn_entry_size +
                             gap_count * L::gap_entry_size;
  if (need != bytes.size())
    return bad(fmt::format("counts ({} frames, {} batches, {} txn spans, {} gaps) need {} bytes, the index has {}",
                           frame_count, batch_count, txn_count, gap_count, need, bytes.size()));
  idx.header.topic = r.text(topic_length);
  if (header_length != L::header_fixed_size + topic_length || header_length > index_offset)
    return bad(fmt::format("header length {} does not fit topic length {}", header_length, topic_length));
  header_length_out = header_length;

  if (auto m = read_entries(r, idx, frame_count, batch_count, txn_count, gap_count); !m.empty())
    return bad(std::move(m));
  if (auto m = check_frames(idx, header_length, index_offset); !m.empty()) return bad(std::move(m));
  if (auto m = check_gaps(idx); !m.empty()) return bad(std::move(m));
  return idx;
}

kb::result<segment_header> parse_header(byte_view b, std::string_view what, std::uint16_t trailer_version) {
  auto bad = [&](std::string m) { return fail(errc::corrupt, fmt::format("{}: header {}", what, m)); };
  if (b.size() < L::header_fixed_size || std::memcmp(b.data(), L::header_magic.data(), 4) != 0)
    return bad("magic missing: not a kafka-backup segment");
  reader r(b.subspan(4));
  const std::uint16_t version = r.u16();
  if (version != trailer_version) return bad(fmt::format("version {} differs from the trailer's", version));
  segment_header h;
  const std::uint8_t codec = r.u8();
  if (!valid_codec(codec)) return bad(fmt::format("names unknown frame codec {}", codec));
  h.codec = static_cast<frame_codec>(codec);
  (void)r.u8();  // compression level, informational
  const std::uint32_t header_length = r.u32();
  h.partition = r.i32();
  h.created_ms = r.i64();
  const std::uint16_t topic_length = r.u16();
  if (header_length != L::header_fixed_size + std::size_t{topic_length} || header_length > b.size())
    return bad(fmt::format("length {} does not fit topic length {}", header_length, topic_length));
  h.topic = r.text(topic_length);
  return h;
}

}  // namespace kb::storage::format::detail
