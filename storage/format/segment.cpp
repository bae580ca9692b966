// The `.kbs` segment: writer, whole-file parser, ranged index and frame readers, frame codecs.
// The byte layout is documented in docs/format.md; keep the two in step.
#include "storage/format/segment.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <lz4.h>
#include <lz4frame.h>
#include <lz4hc.h>
#include <xxhash.h>
#include <zstd.h>

#include "storage/format/segment_layout.hpp"
#include "storage/object_store.hpp"

namespace kb::storage::format {

namespace {

namespace L = layout;

// ---------------------------------------------------------------------------------------------
// Little-endian writing and bounds-checked reading.

class writer {
 public:
  explicit writer(byte_vector& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i16(std::int16_t v) { u16(static_cast<std::uint16_t>(v)); }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  // resize + memcpy rather than vector::insert: g++ 12 -O3 reports a false
  // -Wstringop-overflow on the inlined range insert.
  void bytes(byte_view b) {
    if (b.empty()) return;
    const auto at = out_.size();
    out_.resize(at + b.size());
    std::memcpy(out_.data() + at, b.data(), b.size());
  }
  void bytes(std::string_view s) { bytes(as_bytes(s)); }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  byte_vector& out_;
};

/// Reads fields in order; the caller checked the total length up front, so running past the
/// end here is a bug in the size arithmetic and reported as such.
class reader {
 public:
  explicit reader(byte_view in) : in_(in) {}
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  std::int16_t i16() { return static_cast<std::int16_t>(u16()); }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::string text(std::size_t n) {
    if (remaining() < n) {
      ok_ = false;
      pos_ = in_.size();
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  std::uint64_t get(int n) {
    if (remaining() < static_cast<std::size_t>(n)) {
      ok_ = false;
      pos_ = in_.size();
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t{in_[pos_ + static_cast<std::size_t>(i)]} << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  byte_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

std::uint64_t xxh3(byte_view b) noexcept { return XXH3_64bits(b.data(), b.size()); }

/// The trailer checksum covers the trailer's own bytes except the checksum field.
std::uint64_t trailer_checksum(byte_view trailer) noexcept {
  std::array<std::uint8_t, L::trailer_size - 8> buf{};
  std::memcpy(buf.data(), trailer.data(), L::trailer_checksum_at);
  std::memcpy(buf.data() + L::trailer_checksum_at, trailer.data() + L::trailer_checksum_at + 8,
              L::trailer_size - L::trailer_checksum_at - 8);
  return XXH3_64bits(buf.data(), buf.size());
}

const char* codec_name(frame_codec c) noexcept {
  switch (c) {
    case frame_codec::none: return "none";
    case frame_codec::lz4: return "lz4";
    case frame_codec::zstd: return "zstd";
  }
  return "unknown";
}

bool valid_codec(std::uint8_t c) noexcept { return c <= static_cast<std::uint8_t>(frame_codec::zstd); }

std::int64_t min_ts(std::int64_t a, std::int64_t b) noexcept {
  if (a < 0) return b;
  if (b < 0) return a;
  return std::min(a, b);
}
std::int64_t max_ts(std::int64_t a, std::int64_t b) noexcept { return std::max(a, b); }

/// The frame's time range as the writer records it: the smallest batch first_timestamp and the
/// largest batch max_timestamp (-1 when no batch carries one).
void widen_frame_times(frame_entry& f, const batch_entry& b) noexcept {
  f.min_timestamp = min_ts(f.min_timestamp, min_ts(b.first_timestamp, b.max_timestamp));
  f.max_timestamp = max_ts(f.max_timestamp, max_ts(b.first_timestamp, b.max_timestamp));
}

// ---------------------------------------------------------------------------------------------
// Encoding of the header, index and trailer.

void write_header(byte_vector& out, const segment_header& h, int level) {
  writer w(out);
  w.bytes(byte_view(L::header_magic));
  w.u16(segment_format_version);
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
  w.u16(segment_format_version);
  w.u8(static_cast<std::uint8_t>(idx.header.codec));
  w.u8(0);
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
                   std::uint64_t index_xxh3, std::uint64_t file_xxh3) {
  const std::size_t at = out.size();
  writer w(out);
  w.u64(index_offset);
  w.u64(index_length);
  w.u64(index_xxh3);
  w.u64(file_xxh3);
  w.u64(0);  // trailer checksum, filled below
  w.u16(segment_format_version);
  w.u16(static_cast<std::uint16_t>(L::trailer_size));
  w.bytes(byte_view(L::trailer_magic));
  const std::uint64_t sum = trailer_checksum(byte_view(out).subspan(at, L::trailer_size));
  for (int i = 0; i < 8; ++i)
    out[at + L::trailer_checksum_at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum >> (8 * i));
}

// ---------------------------------------------------------------------------------------------
// Decoding.

struct trailer_fields {
  std::uint64_t index_offset = 0;
  std::uint64_t index_length = 0;
  std::uint64_t index_xxh3 = 0;
  std::uint64_t file_xxh3 = 0;
};

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
  if (version != segment_format_version)
    return fail(errc::unsupported,
                fmt::format("{}: segment format version {}; this kafka-backup reads version {}: use a newer "
                            "kafka-backup to read this backup", what, version, segment_format_version));
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
                                      std::uint32_t& header_length_out) {
  auto bad = [&](std::string m) { return fail(errc::corrupt, fmt::format("{}: index {}", what, m)); };
  if (bytes.size() < L::index_fixed_size || std::memcmp(bytes.data(), L::index_magic.data(), 4) != 0)
    return bad("magic missing");
  reader r(bytes.subspan(4));
  const std::uint16_t version = r.u16();
  if (version != segment_format_version) return bad(fmt::format("version {} differs from the trailer's", version));
  segment_index idx;
  const std::uint8_t codec = r.u8();
  if (!valid_codec(codec)) return bad(fmt::format("names unknown frame codec {}", codec));
  idx.header.codec = static_cast<frame_codec>(codec);
  (void)r.u8();
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
      return bad(fmt::format("txn span of producer {} has unknown outcome {}", t.producer_id, outcome));
    t.outcome = static_cast<txn_outcome>(outcome);
  }
  idx.gaps.resize(gap_count);
  for (auto& g : idx.gaps) {
    g.first_offset = r.i64();
    g.last_offset = r.i64();
  }
  if (!r.ok() || r.remaining() != 0) return bad("length arithmetic is off (internal)");

  // Frames are back to back from the end of the header to the start of the index, and their
  // batches are consecutive, in offset order, and fill the frame's raw bytes exactly.
  std::uint64_t expect_offset = header_length;
  std::uint64_t expect_batch = 0;
  std::int64_t prev_last = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < idx.frames.size(); ++i) {
    const auto& f = idx.frames[i];
    if (f.file_offset != expect_offset)
      return bad(fmt::format("frame {} starts at {}, expected {}", i, f.file_offset, expect_offset));
    if (f.stored_size == 0 || f.raw_size == 0 || f.batch_count == 0)
      return bad(fmt::format("frame {} is empty", i));
    if (f.first_batch != expect_batch || f.batch_count > batch_count - expect_batch)
      return bad(fmt::format("frame {} claims batches {}+{}, expected to start at {} of {}", i, f.first_batch,
                             f.batch_count, expect_batch, batch_count));
    if (idx.header.codec == frame_codec::none && f.stored_size != f.raw_size)
      return bad(fmt::format("frame {} is uncompressed but stores {} bytes for {} raw", i, f.stored_size, f.raw_size));
    if (idx.header.codec != frame_codec::none && f.raw_size > L::max_frame_raw_bytes)
      return bad(fmt::format("frame {} claims {} raw bytes, more than the limit {}", i, f.raw_size,
                             L::max_frame_raw_bytes));
    std::uint64_t pos = 0;
    frame_entry times;
    for (std::uint32_t k = 0; k < f.batch_count; ++k) {
      const std::size_t bi = f.first_batch + k;
      const auto& b = idx.batches[bi];
      if (b.frame != i || b.position != pos || b.size == 0)
        return bad(fmt::format("batch {} (offset {}) is placed at frame {} position {} size {}, expected frame {} "
                               "position {}", bi, b.first_offset, b.frame, b.position, b.size, i, pos));
      if (b.first_offset > b.last_offset || b.first_offset <= prev_last || b.first_offset < 0)
        return bad(fmt::format("batch {} offsets {}..{} are not increasing after {}", bi, b.first_offset,
                               b.last_offset, prev_last));
      if (b.record_count < 0) return bad(fmt::format("batch {} has a negative record count", bi));
      prev_last = b.last_offset;
      pos += b.size;
      widen_frame_times(times, b);
    }
    if (pos != f.raw_size)
      return bad(fmt::format("frame {} batches hold {} bytes, the frame {}", i, pos, f.raw_size));
    const auto& fb = idx.batches[f.first_batch];
    const auto& lb = idx.batches[f.first_batch + f.batch_count - 1];
    if (f.first_offset != fb.first_offset || f.last_offset != lb.last_offset)
      return bad(fmt::format("frame {} offsets {}..{} differ from its batches {}..{}", i, f.first_offset,
                             f.last_offset, fb.first_offset, lb.last_offset));
    if (f.min_timestamp != times.min_timestamp || f.max_timestamp != times.max_timestamp)
      return bad(fmt::format("frame {} timestamps differ from its batches", i));
    expect_offset += f.stored_size;
    expect_batch += f.batch_count;
  }
  if (expect_offset != index_offset)
    return bad(fmt::format("frames end at {}, the index starts at {}", expect_offset, index_offset));
  if (expect_batch != batch_count) return bad(fmt::format("{} batches belong to no frame", batch_count - expect_batch));
  for (std::size_t i = 0; i < idx.txns.size(); ++i)
    if (idx.txns[i].first_offset > idx.txns[i].last_offset)
      return bad(fmt::format("txn span {} runs backwards", i));
  // Gaps are sorted, disjoint, and never cover a stored batch.
  std::size_t bi = 0;
  for (std::size_t i = 0; i < idx.gaps.size(); ++i) {
    const auto& g = idx.gaps[i];
    if (g.first_offset > g.last_offset || g.first_offset < 0 ||
        (i > 0 && g.first_offset <= idx.gaps[i - 1].last_offset))
      return bad(fmt::format("gap {} ({}..{}) is backwards or overlaps the previous one", i, g.first_offset,
                             g.last_offset));
    while (bi < idx.batches.size() && idx.batches[bi].last_offset < g.first_offset) ++bi;
    // A gap may cover the leading offsets of one batch (log start inside it), never more.
    if (bi < idx.batches.size() && idx.batches[bi].first_offset <= g.last_offset &&
        (g.first_offset > idx.batches[bi].first_offset || g.last_offset >= idx.batches[bi].last_offset))
      return bad(fmt::format("gap {} ({}..{}) overlaps stored batch at offset {}", i, g.first_offset, g.last_offset,
                             idx.batches[bi].first_offset));
  }
  return idx;
}

kb::result<segment_header> parse_header(byte_view b, std::string_view what) {
  auto bad = [&](std::string m) { return fail(errc::corrupt, fmt::format("{}: header {}", what, m)); };
  if (b.size() < L::header_fixed_size || std::memcmp(b.data(), L::header_magic.data(), 4) != 0)
    return bad("magic missing: not a kafka-backup segment");
  reader r(b.subspan(4));
  const std::uint16_t version = r.u16();
  if (version != segment_format_version) return bad(fmt::format("version {} differs from the trailer's", version));
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

/// Output grows only as the decompressor produces bytes, so a lying raw_size cannot make us
/// allocate more than the input really expands to (plus one chunk).
constexpr std::size_t decode_chunk = 256 * 1024;

kb::result<byte_vector> decode_zstd(byte_view stored, std::uint32_t raw_size) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!ctx) return fail(errc::internal, "zstd: cannot create a decompression context (out of memory)");
  byte_vector out;
  ZSTD_inBuffer in{stored.data(), stored.size(), 0};
  std::size_t last = 1;
  while (true) {
    const std::size_t room = std::min<std::size_t>(decode_chunk, std::size_t{raw_size} + 1 - out.size());
    const std::size_t at = out.size();
    out.resize(at + room);
    ZSTD_outBuffer ob{out.data() + at, room, 0};
    last = ZSTD_decompressStream(ctx.get(), &ob, &in);
    out.resize(at + ob.pos);
    if (ZSTD_isError(last))
      return fail(errc::corrupt, fmt::format("zstd frame does not decompress: {}", ZSTD_getErrorName(last)));
    if (out.size() > raw_size)
      return fail(errc::corrupt, fmt::format("zstd frame decompresses to more than its {} raw bytes", raw_size));
    if (last == 0 && in.pos == in.size) break;
    if (ob.pos == 0 && in.pos == in.size)
      return fail(errc::corrupt, "zstd frame is truncated");
  }
  if (out.size() != raw_size)
    return fail(errc::corrupt, fmt::format("zstd frame decompresses to {} bytes, the index says {}", out.size(), raw_size));
  return out;
}

kb::result<byte_vector> decode_lz4(byte_view stored, std::uint32_t raw_size) {
  LZ4F_dctx* raw_ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_ctx, LZ4F_VERSION)))
    return fail(errc::internal, "lz4: cannot create a decompression context (out of memory)");
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(raw_ctx, &LZ4F_freeDecompressionContext);
  byte_vector out;
  std::size_t in_pos = 0;
  std::size_t hint = 1;
  while (in_pos < stored.size()) {
    const std::size_t room = std::min<std::size_t>(decode_chunk, std::size_t{raw_size} + 1 - out.size());
    const std::size_t at = out.size();
    out.resize(at + room);
    std::size_t out_len = room;
    std::size_t in_len = stored.size() - in_pos;
    hint = LZ4F_decompress(ctx.get(), out.data() + at, &out_len, stored.data() + in_pos, &in_len, nullptr);
    out.resize(at + out_len);
    if (LZ4F_isError(hint))
      return fail(errc::corrupt, fmt::format("lz4 frame does not decompress: {}", LZ4F_getErrorName(hint)));
    if (out.size() > raw_size)
      return fail(errc::corrupt, fmt::format("lz4 frame decompresses to more than its {} raw bytes", raw_size));
    in_pos += in_len;
    if (hint == 0) break;
    if (in_len == 0 && out_len == 0) return fail(errc::corrupt, "lz4 frame makes no progress");
  }
  if (hint != 0) return fail(errc::corrupt, "lz4 frame is truncated");
  if (in_pos != stored.size()) return fail(errc::corrupt, "lz4 frame has trailing bytes");
  if (out.size() != raw_size)
    return fail(errc::corrupt, fmt::format("lz4 frame decompresses to {} bytes, the index says {}", out.size(), raw_size));
  return out;
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// segment_index

std::int64_t segment_index::first_offset() const noexcept {
  std::int64_t first = -1;
  if (!batches.empty()) first = batches.front().first_offset;
  if (!gaps.empty() && (first < 0 || gaps.front().first_offset < first)) first = gaps.front().first_offset;
  return first;
}

std::int64_t segment_index::last_offset() const noexcept {
  std::int64_t last = -1;
  if (!batches.empty()) last = batches.back().last_offset;
  if (!gaps.empty()) last = std::max(last, gaps.back().last_offset);
  return last;
}

std::int64_t live_first_offset(const segment_index& index, const batch_entry& entry) noexcept {
  std::int64_t at = entry.first_offset;
  for (const auto& g : index.gaps)  // sorted and disjoint (parse_segment checks)
    if (g.first_offset <= at && g.last_offset >= at) at = g.last_offset + 1;
  return at;
}

std::uint64_t segment_index::raw_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& f : frames) n += f.raw_size;
  return n;
}

std::uint64_t segment_index::record_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& b : batches)
    if ((b.flags & batch_flags::control) == 0 && b.record_count > 0) n += static_cast<std::uint64_t>(b.record_count);
  return n;
}

// -------------------------------------------------------------------------------------------------
// Frame codecs

namespace {

// Incompressible frames (random bytes, already-compressed batches, short random text for LZ4)
// are stored as frames of the same codec made of uncompressed blocks: any decoder reads them,
// the format does not change, and the compressor's CPU is not spent on bytes it cannot shrink.

// The sample: up to 4 pieces of 16 KiB spread from the start to the end of the frame (the
// whole frame if it is at most 64 KiB), each compressed on its own at the frame's level.
constexpr std::size_t sample_piece = 16 * 1024;
constexpr std::size_t sample_pieces = 4;

// A frame is compressed when the sample saves at least 3%. Below that, compression buys at
// most ~31 KiB per MiB for the codec's full CPU cost (LZ4 on random text stores its blocks
// raw anyway), and the sample's estimate is not finer than a few percent.
constexpr std::size_t min_saving_percent = 3;

/// Whether compressing `raw` with `codec` at `level` is worth it, judged on a sample. A
/// frame with a compressible start but a random rest still compresses when its sampled
/// pieces together save 3%. Errors of the block API count as "worth it" (the real
/// compressor then reports them).
bool worth_compressing(frame_codec codec, int level, byte_view raw) {
  if (raw.empty()) return true;
  // A context of its own, kept per thread (frames are encoded on a worker pool): making one per
  // frame cost ~10 us, and reusing the frame compressor's context after a 16 KiB sample made
  // the whole-frame compression twice as slow (zstd 1.5, 1 MiB of random letters, level 3).
  thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> zctx(nullptr, &ZSTD_freeCCtx);
  if (codec == frame_codec::zstd && !zctx) {
    zctx.reset(ZSTD_createCCtx());
    if (!zctx) return true;  // the real compressor reports the lack of memory
  }
  std::array<byte_view, sample_pieces> pieces{};
  std::size_t count = 1;
  if (raw.size() <= sample_piece * sample_pieces) {
    pieces[0] = raw;
  } else {
    count = sample_pieces;
    const std::size_t step = (raw.size() - sample_piece) / (sample_pieces - 1);
    for (std::size_t i = 0; i < count; ++i) pieces[i] = raw.subspan(i * step, sample_piece);
  }
  auto bound = [&](byte_view p) {
    return codec == frame_codec::lz4 ? static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(p.size())))
                                     : ZSTD_compressBound(p.size());
  };
  std::size_t in = 0;
  for (std::size_t i = 0; i < count; ++i) in += pieces[i].size();
  const std::size_t enough = in * (100 - min_saving_percent);  // out * 100 below this: compress
  // Pieces not compressed yet count at their worst (the codec's bound), so the loop can stop
  // as soon as the answer is "compress" whatever they hold: compressible frames usually pay
  // for one piece, not four.
  std::size_t out = 0;
  for (std::size_t i = 0; i < count; ++i) out += bound(pieces[i]);
  byte_vector scratch;
  for (std::size_t i = 0; i < count; ++i) {
    if (out * 100 < enough) return true;
    const auto p = pieces[i];
    out -= bound(p);
    if (codec == frame_codec::lz4) {
      const int n = static_cast<int>(p.size());
      scratch.resize(static_cast<std::size_t>(LZ4_compressBound(n)));
      auto* src = reinterpret_cast<const char*>(p.data());
      auto* dst = reinterpret_cast<char*>(scratch.data());
      const int cap = static_cast<int>(scratch.size());
      // Same split as the frame compressor below: up to level 3 fast mode, then LZ4HC.
      const int got = level > 3 ? LZ4_compress_HC(src, dst, n, cap, level) : LZ4_compress_default(src, dst, n, cap);
      if (got <= 0) return true;
      out += static_cast<std::size_t>(got);
    } else {
      scratch.resize(ZSTD_compressBound(p.size()));
      const std::size_t got = ZSTD_compressCCtx(zctx.get(), scratch.data(), scratch.size(), p.data(), p.size(), level);
      if (ZSTD_isError(got)) return true;
      out += got;
    }
  }
  return out * 100 < enough;
}

/// One LZ4 frame (lz4 doc/lz4_Frame_format.md) of uncompressed blocks: independent blocks,
/// content size set, no checksums. 64 KiB blocks, the size LZ4F itself picks, so a decoder
/// sizes its buffers as for our compressed frames; this is byte for byte what LZ4F emits for
/// input none of whose blocks shrink.
byte_vector store_lz4_frame(byte_view raw) {
  constexpr std::size_t block = 64 * 1024;
  byte_vector out;
  out.reserve(19 + 4 * (raw.size() / block + 1) + raw.size());
  writer w(out);
  w.u32(0x184D2204);  // magic
  const std::size_t descriptor_at = out.size();
  w.u8(0x68);  // FLG: version 01, independent blocks, content size present
  w.u8(0x40);  // BD: block maximum size id 4 = 64 KiB
  w.u64(raw.size());
  // Header checksum: second byte of XXH32 (seed 0) over the descriptor.
  w.u8(static_cast<std::uint8_t>(XXH32(out.data() + descriptor_at, out.size() - descriptor_at, 0) >> 8));
  for (std::size_t at = 0; at < raw.size(); at += block) {
    const std::size_t n = std::min(block, raw.size() - at);
    w.u32(static_cast<std::uint32_t>(n) | 0x80000000u);  // high bit: the block is stored uncompressed
    w.bytes(raw.subspan(at, n));
  }
  w.u32(0);  // EndMark
  return out;
}

/// One zstd frame (RFC 8878) of Raw_Blocks with a 4-byte Frame_Content_Size. A Window_Descriptor
/// of 128 KiB rather than Single_Segment: with Single_Segment the window is the content size,
/// and a streaming decoder with default limits (ours included) refuses windows over 128 MiB,
/// while frames may hold up to 2 GiB; 128 KiB is also the largest block, so nothing is lost.
byte_vector store_zstd_frame(byte_view raw) {
  constexpr std::size_t block = 128 * 1024;
  byte_vector out;
  out.reserve(10 + 3 * (raw.size() / block + 1) + raw.size());
  writer w(out);
  w.u32(0xFD2FB528);  // magic
  w.u8(0x80);         // Frame_Header_Descriptor: FCS flag 2 (4 bytes), no Single_Segment, checksum or dict id
  w.u8(0x38);         // Window_Descriptor: exponent 7, mantissa 0 -> 2^(10+7) = 128 KiB
  w.u32(static_cast<std::uint32_t>(raw.size()));
  std::size_t at = 0;
  do {  // an empty frame still needs one (empty, last) block
    const std::size_t n = std::min(block, raw.size() - at);
    const bool last = at + n == raw.size();
    // Block_Header, 3 bytes LE: Last_Block bit 0, Block_Type 0 (Raw) bits 1-2, Block_Size bits 3-23.
    const auto header = static_cast<std::uint32_t>(n << 3) | (last ? 1u : 0u);
    w.u8(static_cast<std::uint8_t>(header));
    w.u8(static_cast<std::uint8_t>(header >> 8));
    w.u8(static_cast<std::uint8_t>(header >> 16));
    w.bytes(raw.subspan(at, n));
    at += n;
  } while (at < raw.size());
  return out;
}

}  // namespace

kb::result<byte_vector> encode_frame(frame_codec codec, int level, byte_view raw) {
  // The stored frames carry a 4-byte (zstd) content size; the writer's frames stay below 2 GiB.
  const bool storable = raw.size() <= std::numeric_limits<std::uint32_t>::max();
  switch (codec) {
    case frame_codec::none: return byte_vector(raw.begin(), raw.end());
    case frame_codec::zstd: {
      if (storable && !worth_compressing(codec, level, raw)) return store_zstd_frame(raw);
      byte_vector out(ZSTD_compressBound(raw.size()));
      std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
      if (!ctx) return fail(errc::internal, "zstd: cannot create a compression context (out of memory)");
      ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_compressionLevel, level);
      ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_contentSizeFlag, 1);
      const std::size_t n = ZSTD_compress2(ctx.get(), out.data(), out.size(), raw.data(), raw.size());
      if (ZSTD_isError(n)) return fail(errc::internal, fmt::format("zstd compression failed: {}", ZSTD_getErrorName(n)));
      out.resize(n);
      return out;
    }
    case frame_codec::lz4: {
      if (storable && !worth_compressing(codec, level, raw)) return store_lz4_frame(raw);
      LZ4F_preferences_t prefs{};
      prefs.frameInfo.blockMode = LZ4F_blockIndependent;
      prefs.frameInfo.contentSize = raw.size();
      // Levels up to 3 (the config's default, meant for zstd) use LZ4's fast mode; 4..12 LZ4HC.
      prefs.compressionLevel = level > 3 ? level : 0;
      byte_vector out(LZ4F_compressFrameBound(raw.size(), &prefs));
      const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), raw.data(), raw.size(), &prefs);
      if (LZ4F_isError(n)) return fail(errc::internal, fmt::format("lz4 compression failed: {}", LZ4F_getErrorName(n)));
      out.resize(n);
      return out;
    }
  }
  return fail(errc::unsupported, fmt::format("unknown frame codec {}", static_cast<int>(codec)));
}

kb::result<byte_vector> decode_frame(frame_codec codec, byte_view stored, std::uint32_t raw_size) {
  switch (codec) {
    case frame_codec::none:
      if (stored.size() != raw_size)
        return fail(errc::corrupt, fmt::format("uncompressed frame holds {} bytes, the index says {}", stored.size(), raw_size));
      return byte_vector(stored.begin(), stored.end());
    case frame_codec::zstd: return decode_zstd(stored, raw_size);
    case frame_codec::lz4: return decode_lz4(stored, raw_size);
  }
  return fail(errc::unsupported, fmt::format("unknown frame codec {}", static_cast<int>(codec)));
}

// -------------------------------------------------------------------------------------------------
// segment_builder

segment_builder::segment_builder(options opts) : opts_(std::move(opts)) {
  index_.header = opts_.header;
  opts_.frame_target_bytes = std::clamp<std::uint32_t>(opts_.frame_target_bytes, 1, L::max_batch_bytes);
}

std::optional<segment_builder::raw_frame> segment_builder::append(byte_view batch, batch_entry entry) {
  if (!misuse_.empty()) return std::nullopt;
  if (batch.empty() || batch.size() > L::max_batch_bytes) {
    misuse_ = fmt::format("batch at offset {} has {} bytes (allowed 1..{})", entry.first_offset, batch.size(),
                          L::max_batch_bytes);
    return std::nullopt;
  }
  // After the last batch; it may start inside the trailing gaps (its leading records are below
  // the partition's start) but must end past them.
  const std::int64_t last_batch = index_.batches.empty() ? -1 : index_.batches.back().last_offset;
  bool follows = empty() || entry.first_offset > last_offset();
  if (!follows && entry.first_offset > last_batch && entry.last_offset > last_offset())
    follows = gaps_cover(entry.first_offset, last_offset());
  if (entry.first_offset < 0 || entry.first_offset > entry.last_offset || !follows) {
    misuse_ = fmt::format("batch {}..{} does not follow offset {}", entry.first_offset, entry.last_offset,
                          last_offset());
    return std::nullopt;
  }
  if (open_frame_.empty()) {
    // Room for the target plus one more batch, taken once: the batch that fills the frame
    // usually runs past the target, and growing by doubling re-copies and faults in pages.
    // Capped so a huge target does not reserve a huge buffer up front.
    const std::size_t want = std::min<std::size_t>(
        std::size_t{opts_.frame_target_bytes} + std::min<std::size_t>(opts_.frame_target_bytes, 16u << 20), 64u << 20);
    if (open_frame_.capacity() < want && !spare_frames_.empty()) {
      open_frame_ = std::move(spare_frames_.back());
      spare_frames_.pop_back();
      open_frame_.clear();
    }
    if (open_frame_.capacity() < want) open_frame_.reserve(want);
    frame_entry f;
    f.first_batch = static_cast<std::uint32_t>(index_.batches.size());
    f.first_offset = entry.first_offset;
    index_.frames.push_back(f);
  }
  auto& f = index_.frames.back();
  entry.frame = static_cast<std::uint32_t>(index_.frames.size() - 1);
  entry.position = static_cast<std::uint32_t>(open_frame_.size());
  entry.size = static_cast<std::uint32_t>(batch.size());
  open_frame_.insert(open_frame_.end(), batch.begin(), batch.end());
  f.batch_count += 1;
  f.raw_size = static_cast<std::uint32_t>(open_frame_.size());
  f.last_offset = entry.last_offset;
  widen_frame_times(f, entry);
  open_frame_min_ts_ = f.min_timestamp;
  raw_bytes_ += batch.size();
  index_.batches.push_back(entry);
  // The open frame stays below the target (at most 1 GiB) and a batch is at most 1 GiB, so a
  // frame never exceeds the 2 GiB a reader accepts.
  if (open_frame_.size() >= opts_.frame_target_bytes) return seal_frame();
  return std::nullopt;
}

void segment_builder::recycle_frame(byte_vector buffer) {
  if (spare_frames_.size() < 2 && buffer.capacity() > 0) spare_frames_.push_back(std::move(buffer));
}

void segment_builder::add_gap(offset_gap gap) { index_.gaps.push_back(gap); }

bool segment_builder::gaps_cover(std::int64_t first, std::int64_t last) const {
  auto gaps = index_.gaps;
  std::sort(gaps.begin(), gaps.end(), [](const offset_gap& a, const offset_gap& b) { return a.first_offset < b.first_offset; });
  std::int64_t at = first;
  for (const auto& g : gaps) {
    if (at > last) break;
    if (g.first_offset <= at && g.last_offset >= at) at = g.last_offset + 1;
  }
  return at > last;
}

void segment_builder::add_txn_span(txn_span span) { index_.txns.push_back(span); }

std::optional<segment_builder::raw_frame> segment_builder::seal_frame() {
  if (open_frame_.empty()) return std::nullopt;
  raw_frame out;
  out.frame = static_cast<std::uint32_t>(index_.frames.size() - 1);
  out.raw = std::move(open_frame_);
  open_frame_ = byte_vector();
  open_frame_min_ts_ = -1;
  return out;
}

bool segment_builder::empty() const noexcept { return index_.batches.empty() && index_.gaps.empty(); }

std::uint64_t segment_builder::raw_bytes() const noexcept { return raw_bytes_; }

std::size_t segment_builder::batch_count() const noexcept { return index_.batches.size(); }

std::int64_t segment_builder::first_offset() const noexcept { return index_.first_offset(); }

std::int64_t segment_builder::last_offset() const noexcept {
  std::int64_t last = index_.batches.empty() ? -1 : index_.batches.back().last_offset;
  for (const auto& g : index_.gaps) last = std::max(last, g.last_offset);
  return last;
}

std::uint64_t segment_builder::parts::size() const noexcept {
  std::uint64_t n = head.size() + tail.size();
  for (const auto& f : frames) n += f.size();
  return n;
}

kb::result<segment_builder::parts> segment_builder::finish_parts(std::vector<byte_vector> compressed_frames) && {
  if (!misuse_.empty())
    return fail(errc::internal, fmt::format("segment {}/{}: {}", opts_.header.topic, opts_.header.partition, misuse_));
  if (!open_frame_.empty())
    return fail(errc::internal, fmt::format("segment {}/{}: finish() with an unsealed frame; call seal_frame() first",
                                            opts_.header.topic, opts_.header.partition));
  if (compressed_frames.size() != index_.frames.size())
    return fail(errc::internal, fmt::format("segment {}/{}: {} compressed frames given for {} frames",
                                            opts_.header.topic, opts_.header.partition, compressed_frames.size(),
                                            index_.frames.size()));
  if (opts_.header.topic.size() > L::max_topic_bytes)
    return fail(errc::invalid_argument, fmt::format("topic name of {} bytes is too long for a segment header",
                                                    opts_.header.topic.size()));
  std::sort(index_.gaps.begin(), index_.gaps.end(),
            [](const offset_gap& a, const offset_gap& b) { return a.first_offset < b.first_offset; });
  // The same offsets may be recorded twice (a retention reset, then the batch that holds the
  // new log start): the index holds disjoint gaps.
  std::vector<offset_gap> merged;
  for (const auto& g : index_.gaps) {
    if (!merged.empty() && g.first_offset <= merged.back().last_offset)
      merged.back().last_offset = std::max(merged.back().last_offset, g.last_offset);
    else
      merged.push_back(g);
  }
  index_.gaps = std::move(merged);

  // The file checksum streams over the pieces, so nothing is joined to compute it.
  const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  if (!state || XXH3_64bits_reset(state.get()) != XXH_OK)
    return fail(errc::internal, "cannot allocate an XXH3 state");
  auto hash = [&](byte_view b) { (void)XXH3_64bits_update(state.get(), b.data(), b.size()); };

  parts out;
  out.head.reserve(L::header_fixed_size + opts_.header.topic.size());
  write_header(out.head, opts_.header, opts_.compression_level);
  hash(out.head);
  const auto header_length = static_cast<std::uint32_t>(out.head.size());
  std::uint64_t at = header_length;
  for (std::size_t i = 0; i < compressed_frames.size(); ++i) {
    auto& f = index_.frames[i];
    const auto& c = compressed_frames[i];
    if (c.empty() || c.size() > std::numeric_limits<std::uint32_t>::max())
      return fail(errc::internal, fmt::format("segment {}/{}: compressed frame {} has {} bytes", opts_.header.topic,
                                              opts_.header.partition, i, c.size()));
    if (opts_.header.codec == frame_codec::none && c.size() != f.raw_size)
      return fail(errc::internal, fmt::format("segment {}/{}: frame {} is uncompressed but differs in size from its raw bytes",
                                              opts_.header.topic, opts_.header.partition, i));
    f.file_offset = at;
    f.stored_size = static_cast<std::uint32_t>(c.size());
    f.xxh3 = xxh3(c);
    hash(c);
    at += c.size();
  }
  const std::uint64_t index_offset = at;
  out.tail = encode_index(index_, header_length);
  hash(out.tail);
  const std::uint64_t index_length = out.tail.size();
  const std::uint64_t index_sum = xxh3(out.tail);
  out.tail.reserve(index_length + L::trailer_size);
  write_trailer(out.tail, index_offset, index_length, index_sum, XXH3_64bits_digest(state.get()));
  out.frames = std::move(compressed_frames);
  return out;
}

kb::result<byte_vector> segment_builder::finish(std::vector<byte_vector> compressed_frames) && {
  auto p = std::move(*this).finish_parts(std::move(compressed_frames));
  if (!p) return fail(std::move(p.error()));
  byte_vector out;
  out.reserve(p->size());
  auto add = [&](const byte_vector& b) {
    if (b.empty()) return;
    const auto n = out.size();
    out.resize(n + b.size());
    std::memcpy(out.data() + n, b.data(), b.size());
  };
  add(p->head);
  for (const auto& f : p->frames) add(f);
  add(p->tail);
  return out;
}

// -------------------------------------------------------------------------------------------------
// Readers

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
  auto idx = parse_index(index_bytes, t->index_offset, what, header_length);
  if (!idx) return idx;
  auto h = parse_header(segment.first(header_length), what);
  if (!h) return fail(std::move(h.error()));
  if (*h != idx->header)
    return fail(errc::corrupt, fmt::format("{}: header ({} partition {}) differs from the index copy ({} partition {})",
                                           what, h->topic, h->partition, idx->header.topic, idx->header.partition));
  for (std::size_t i = 0; i < idx->frames.size(); ++i) {
    const auto& f = idx->frames[i];
    const byte_view stored = segment.subspan(f.file_offset, f.stored_size);
    if (xxh3(stored) != f.xxh3) return fail(errc::corrupt, fmt::format("{}: frame {} checksum mismatch", what, i));
    auto raw = decode_frame(idx->header.codec, stored, f.raw_size);
    if (!raw) return fail(errc::corrupt, fmt::format("{}: frame {}: {}", what, i, raw.error().message));
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
  auto idx = parse_index(*bytes, t->index_offset, fmt::format("segment {}", key), header_length);
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
  auto raw = decode_frame(index.header.codec, *stored, f.raw_size);
  if (!raw) return fail(errc::corrupt, fmt::format("segment {}: frame {} ({}): {}", key, frame,
                                                   codec_name(index.header.codec), raw.error().message));
  return raw;
}

std::string segment_file_name(std::int64_t first_offset, std::int64_t last_offset) {
  return fmt::format("{:020}-{:020}.kbs", first_offset, last_offset);
}

}  // namespace kb::storage::format
