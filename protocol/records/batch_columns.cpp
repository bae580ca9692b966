// Batch columns (docs/format.md §2.5): uncompressed v2 batches split into six streams and rebuilt
// byte for byte; every other batch, and anything that is not a whole batch, carried verbatim.
#include "protocol/records/batch_columns.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "base/crc32c.hpp"
#include "protocol/records/record_wire.hpp"

namespace kb::protocol {

namespace {

namespace W = record_wire;

constexpr std::uint8_t form_version = 1;
constexpr std::size_t stream_count = 5;
constexpr std::size_t footer_size = 4 * stream_count + 1;
constexpr std::uint8_t kind_verbatim = 0;
constexpr std::uint8_t kind_columns = 1;

// In the order they are stored. The bulk stream (values, and verbatim batches) comes first: the
// writer fills the caller's buffer with it directly and appends the small streams after it.
enum stream_id : std::size_t { s_bulk, s_keys, s_records, s_tails, s_batches };

// Differences wrap (two's complement), so every value has one and the rebuild is exact.
std::int64_t minus(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t plus(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

/// One reader per stream of the column form; every read is bounds-checked.
using cursors = std::array<W::varint_reader, stream_count>;

/// What the header fields of the next batch are expected to be, from the batch before it.
struct prediction {
  std::int64_t next_offset = 0;
  std::int64_t leader_epoch = 0;
  std::int64_t base_timestamp = 0;
  std::int64_t producer_id = 0;
  std::int64_t producer_epoch = 0;
  std::int64_t next_sequence = 0;
};

template <class T>
bool fits(std::int64_t v) noexcept {
  return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
}

using header_bytes = std::array<std::uint8_t, batch_header_size>;

/// A rebuilt batch appended to the output (the reader), never past `limit` bytes in all.
class append_sink {
 public:
  append_sink(byte_vector& out, std::size_t limit) noexcept : out_(out), limit_(limit) {}
  bool begin() {
    if (batch_header_size > limit_ - out_.size()) return false;
    start_ = out_.size();
    out_.resize(start_ + batch_header_size);  // the header is written by end()
    return true;
  }
  bool put(const std::uint8_t* p, std::size_t n) {
    if (n > limit_ - out_.size()) return false;
    out_.insert(out_.end(), p, p + n);
    return true;
  }
  bool zz(std::int64_t v) {
    if (W::varlong_size(v) > limit_ - out_.size()) return false;
    W::put_varlong(out_, v);
    return true;
  }
  [[nodiscard]] std::size_t written() const noexcept { return out_.size() - start_; }
  bool end(header_bytes& h) {
    std::memcpy(out_.data() + start_, h.data(), h.size());
    const std::uint32_t crc = crc32c(byte_view(out_).subspan(start_ + batch_attributes_offset));
    W::set_be<std::uint32_t>(out_.data() + start_ + batch_crc_offset, crc);
    return true;
  }

 private:
  byte_vector& out_;
  std::size_t limit_;
  std::size_t start_ = 0;
};

/// A rebuilt batch compared with the original as it is produced (the writer's check): nothing
/// is copied, and the first differing byte ends the rebuild.
class compare_sink {
 public:
  explicit compare_sink(byte_view original) noexcept : orig_(original) {}
  bool begin() noexcept {
    pos_ = batch_header_size;
    return orig_.size() >= batch_header_size;
  }
  bool put(const std::uint8_t* p, std::size_t n) noexcept {
    if (n > orig_.size() - pos_ || std::memcmp(orig_.data() + pos_, p, n) != 0) return false;
    pos_ += n;
    return true;
  }
  /// Compares the varint byte by byte as it is encoded: the original must use the shortest form.
  bool zz(std::int64_t v) noexcept {
    std::uint64_t z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    while (true) {
      const auto b = static_cast<std::uint8_t>(z >= 0x80u ? (z & 0x7Fu) | 0x80u : z);
      if (pos_ >= orig_.size() || orig_[pos_] != b) return false;
      ++pos_;
      if (z < 0x80u) return true;
      z >>= 7;
    }
  }
  [[nodiscard]] std::size_t written() const noexcept { return pos_; }
  bool end(header_bytes& h) noexcept {
    if (pos_ != orig_.size()) return false;
    // Every byte after the header matched, so the rebuilt CRC is the CRC of the original's
    // bytes once their header bytes match too (compared with the rest of the header below).
    W::set_be<std::uint32_t>(h.data() + batch_crc_offset, crc32c(orig_.subspan(batch_attributes_offset)));
    return std::memcmp(h.data(), orig_.data(), h.size()) == 0;
  }

 private:
  byte_view orig_;
  std::size_t pos_ = 0;
};

/// Rebuilds one batch of kind `columns` from the streams into `sink`.
template <class Sink>
bool rebuild_batch(cursors& c, prediction& p, Sink& sink) {
  std::array<std::int64_t, 10> h{};
  for (auto& v : h)
    if (!c[s_batches].read_varlong(v)) return false;
  const std::int64_t count = h[9];
  const std::int64_t base_offset = plus(p.next_offset, h[0]);
  const std::int64_t epoch = plus(p.leader_epoch, h[1]);
  const std::int64_t attributes = h[2];
  const std::int64_t last_delta = plus(count - 1, h[3]);
  const std::int64_t base_ts = plus(p.base_timestamp, h[4]);
  const std::int64_t max_ts = plus(base_ts, h[5]);
  const std::int64_t pid = plus(p.producer_id, h[6]);
  const std::int64_t pepoch = plus(p.producer_epoch, h[7]);
  const std::int64_t base_seq = plus(p.next_sequence, h[8]);
  if (!fits<std::int32_t>(count) || count < 0 || !fits<std::int32_t>(epoch) || !fits<std::int16_t>(attributes) ||
      !fits<std::int32_t>(last_delta) || !fits<std::int16_t>(pepoch) || !fits<std::int32_t>(base_seq))
    return false;
  if (!sink.begin()) return false;

  std::int64_t prev_ts_delta = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    std::array<std::int64_t, 6> r{};  // attributes, ts delta, offset delta, key, value, tail lengths
    for (auto& v : r)
      if (!c[s_records].read_varlong(v)) return false;
    const std::int64_t ts_delta = plus(prev_ts_delta, r[1]);
    const std::int64_t offset_delta = plus(i, r[2]);
    const std::int64_t key_len = r[3], value_len = r[4], tail_len = r[5];
    if (!fits<std::int8_t>(r[0]) || !fits<std::int32_t>(offset_delta) || !fits<std::int32_t>(key_len) ||
        key_len < -1 || !fits<std::int32_t>(value_len) || value_len < -1 || tail_len < 0)
      return false;
    prev_ts_delta = ts_delta;
    byte_view key, value, tail;
    if (!c[s_keys].read_bytes(key_len < 0 ? 0 : static_cast<std::size_t>(key_len), key) ||
        !c[s_bulk].read_bytes(value_len < 0 ? 0 : static_cast<std::size_t>(value_len), value) ||
        !c[s_tails].read_bytes(static_cast<std::size_t>(tail_len), tail))
      return false;
    // One record: length, attributes, timestamp delta, offset delta, key length, key, value
    // length, value, and the tail (header count and headers) as it was.
    const std::size_t body = 1 + W::varlong_size(ts_delta) + W::varlong_size(offset_delta) +
                             W::varlong_size(key_len) + key.size() + W::varlong_size(value_len) + value.size() +
                             tail.size();
    if (body > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return false;
    const auto attr = static_cast<std::uint8_t>(r[0]);
    if (!sink.zz(static_cast<std::int64_t>(body)) || !sink.put(&attr, 1) || !sink.zz(ts_delta) ||
        !sink.zz(offset_delta) || !sink.zz(key_len) || !sink.put(key.data(), key.size()) || !sink.zz(value_len) ||
        !sink.put(value.data(), value.size()) || !sink.put(tail.data(), tail.size()))
      return false;
  }
  const std::size_t batch_length = sink.written() - W::off_leader_epoch;
  if (batch_length > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return false;
  header_bytes hb{};
  std::uint8_t* hp = hb.data();
  W::set_be<std::int64_t>(hp + W::off_base_offset, base_offset);
  W::set_be<std::int32_t>(hp + W::off_batch_length, static_cast<std::int32_t>(batch_length));
  W::set_be<std::int32_t>(hp + W::off_leader_epoch, static_cast<std::int32_t>(epoch));
  hp[batch_magic_offset] = 2;
  W::set_be<std::int16_t>(hp + batch_attributes_offset, static_cast<std::int16_t>(attributes));
  W::set_be<std::int32_t>(hp + W::off_last_offset_delta, static_cast<std::int32_t>(last_delta));
  W::set_be<std::int64_t>(hp + W::off_base_timestamp, base_ts);
  W::set_be<std::int64_t>(hp + W::off_max_timestamp, max_ts);
  W::set_be<std::int64_t>(hp + W::off_producer_id, pid);
  W::set_be<std::int16_t>(hp + W::off_producer_epoch, static_cast<std::int16_t>(pepoch));
  W::set_be<std::int32_t>(hp + W::off_base_sequence, static_cast<std::int32_t>(base_seq));
  W::set_be<std::int32_t>(hp + W::off_records_count, static_cast<std::int32_t>(count));
  if (!sink.end(hb)) return false;

  p.next_offset = plus(plus(base_offset, last_delta), 1);
  p.leader_epoch = epoch;
  p.base_timestamp = base_ts;
  p.producer_id = pid;
  p.producer_epoch = pepoch;
  p.next_sequence = plus(base_seq, count);
  return true;
}

/// The writer's streams: the bulk stream is the caller's output buffer, the others are kept per
/// thread and appended to it at the end.
struct column_writer {
  std::array<byte_vector, stream_count> own;  // own[s_bulk] unused
  std::array<byte_vector*, stream_count> s{};
  prediction p;

  /// Starts a frame of `raw` bytes into `out`: the streams are emptied but keep their memory,
  /// and the bulk stream gets room for all of `raw` so it never grows by copying.
  void reset(byte_vector& out, std::size_t raw) {
    for (std::size_t i = 0; i < stream_count; ++i) s[i] = &own[i];
    s[s_bulk] = &out;
    for (auto* x : s) x->clear();
    out.reserve(raw + raw / 8 + footer_size);
    own[s_keys].reserve(raw / 8);
    own[s_records].reserve(raw / 8);
    p = {};
  }

  void verbatim(byte_view b) {
    s[s_batches]->push_back(kind_verbatim);
    W::put_uvarlong(*s[s_batches], b.size());
    s[s_bulk]->insert(s[s_bulk]->end(), b.begin(), b.end());
  }

  /// Splits one v2 batch into the streams; false (and the streams as they were) when it cannot
  /// be rebuilt exactly.
  bool columns(byte_view b) {
    if (b.size() < batch_header_size || b[batch_magic_offset] != 2) return false;
    const auto attributes = W::get_be<std::int16_t>(b.data() + batch_attributes_offset);
    if ((attributes & W::attr_codec_mask) != 0) return false;  // compressed records: nothing to split
    std::array<std::size_t, stream_count> mark{};
    for (std::size_t i = 0; i < stream_count; ++i) mark[i] = s[i]->size();
    if (!write_columns(b, attributes)) return rollback(mark);
    // Rebuild what was just written and compare: only an exact copy is kept.
    cursors c;
    for (std::size_t i = 0; i < stream_count; ++i) c[i] = W::varint_reader(byte_view(*s[i]).subspan(mark[i]));
    std::uint8_t kind = 0;
    prediction next = p;
    compare_sink same(b);
    if (!c[s_batches].read_uint8(kind) || !rebuild_batch(c, next, same)) return rollback(mark);
    p = next;
    return true;
  }

  bool rollback(const std::array<std::size_t, stream_count>& mark) {
    for (std::size_t i = 0; i < stream_count; ++i) s[i]->resize(mark[i]);
    return false;
  }

  bool write_columns(byte_view b, std::int16_t attributes) {
    const auto count = W::get_be<std::int32_t>(b.data() + W::off_records_count);
    const auto last_delta = W::get_be<std::int32_t>(b.data() + W::off_last_offset_delta);
    const auto base_offset = W::get_be<std::int64_t>(b.data() + W::off_base_offset);
    const auto base_ts = W::get_be<std::int64_t>(b.data() + W::off_base_timestamp);
    const auto base_seq = W::get_be<std::int32_t>(b.data() + W::off_base_sequence);
    if (count < 0) return false;
    auto& bs = *s[s_batches];
    bs.push_back(kind_columns);
    W::put_varlong(bs, minus(base_offset, p.next_offset));
    W::put_varlong(bs, minus(W::get_be<std::int32_t>(b.data() + W::off_leader_epoch), p.leader_epoch));
    W::put_varlong(bs, attributes);
    W::put_varlong(bs, minus(last_delta, std::int64_t{count} - 1));
    W::put_varlong(bs, minus(base_ts, p.base_timestamp));
    W::put_varlong(bs, minus(W::get_be<std::int64_t>(b.data() + W::off_max_timestamp), base_ts));
    W::put_varlong(bs, minus(W::get_be<std::int64_t>(b.data() + W::off_producer_id), p.producer_id));
    W::put_varlong(bs, minus(W::get_be<std::int16_t>(b.data() + W::off_producer_epoch), p.producer_epoch));
    W::put_varlong(bs, minus(base_seq, p.next_sequence));
    W::put_varlong(bs, count);

    W::varint_reader in(b.subspan(batch_header_size));
    auto& rs = *s[s_records];
    auto& keys = *s[s_keys];
    auto& bulk = *s[s_bulk];
    auto& tails = *s[s_tails];
    std::int64_t prev_ts_delta = 0;
    for (std::int32_t i = 0; i < count; ++i) {
      std::int32_t length = 0;
      if (!in.read_varint(length) || length < 1 || static_cast<std::size_t>(length) > in.remaining()) return false;
      const std::size_t end = in.pos() + static_cast<std::size_t>(length);
      std::int8_t attr = 0;
      std::int64_t ts_delta = 0;
      std::int32_t offset_delta = 0, key_len = 0, value_len = 0;
      byte_view key, value, tail;
      if (!in.read_int8(attr) || !in.read_varlong(ts_delta) || !in.read_varint(offset_delta) ||
          !in.read_varint(key_len) || key_len < -1 ||
          !in.read_bytes(key_len < 0 ? 0 : static_cast<std::size_t>(key_len), key) || !in.read_varint(value_len) ||
          value_len < -1 || !in.read_bytes(value_len < 0 ? 0 : static_cast<std::size_t>(value_len), value) ||
          in.pos() > end || !in.read_bytes(end - in.pos(), tail))
        return false;
      W::put_varlong(rs, attr);
      W::put_varlong(rs, minus(ts_delta, prev_ts_delta));
      W::put_varlong(rs, minus(offset_delta, i));
      W::put_varlong(rs, key_len);
      W::put_varlong(rs, value_len);
      W::put_varlong(rs, static_cast<std::int64_t>(tail.size()));
      prev_ts_delta = ts_delta;
      keys.insert(keys.end(), key.begin(), key.end());
      bulk.insert(bulk.end(), value.begin(), value.end());
      tails.insert(tails.end(), tail.begin(), tail.end());
    }
    return in.remaining() == 0;
  }

  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = footer_size;
    for (const auto* x : s) n += x->size();
    return n;
  }

  /// Appends the small streams and the footer to the bulk stream, the caller's buffer.
  void finish() {
    auto& out = *s[s_bulk];
    std::array<std::uint32_t, stream_count> lengths{};
    for (std::size_t i = 0; i < stream_count; ++i) lengths[i] = static_cast<std::uint32_t>(s[i]->size());
    for (std::size_t i = 0; i < stream_count; ++i)
      if (i != s_bulk) out.insert(out.end(), s[i]->begin(), s[i]->end());
    for (const std::uint32_t n : lengths)
      for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::uint8_t>(n >> (8 * k)));
    out.push_back(form_version);
  }

  /// Frees streams that a rare huge frame grew beyond what is worth keeping per thread.
  void trim() {
    for (auto& x : own)
      if (x.capacity() > (std::size_t{32} << 20)) byte_vector().swap(x);
  }
};

}  // namespace

void split_batch_columns(byte_view raw, byte_vector& out, batch_columns_stats* stats) {
  batch_columns_stats local;
  batch_columns_stats& st = stats ? *stats : local;
  st = {};
  // The small streams are kept per thread (frames are split on a worker pool): fresh ones for
  // every frame cost more in page faults and growth than the split itself.
  thread_local column_writer w;
  w.reset(out, raw.size());
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const std::size_t left = raw.size() - pos;
    std::size_t size = left;  // not a whole batch: the rest goes verbatim
    if (left >= batch_log_overhead) {
      const auto length = W::get_be<std::int32_t>(raw.data() + pos + W::off_batch_length);
      if (length >= 0 && static_cast<std::size_t>(length) <= left - batch_log_overhead)
        size = batch_log_overhead + static_cast<std::size_t>(length);
    }
    const byte_view batch = raw.subspan(pos, size);
    if (w.columns(batch)) {
      ++st.batches;
    } else {
      w.verbatim(batch);
      ++st.verbatim;
    }
    pos += size;
  }
  if (w.size() > max_batch_columns_size(raw.size())) {  // columns cost more than they save: all verbatim
    w.reset(out, raw.size());
    if (!raw.empty()) w.verbatim(raw);
    st.verbatim += st.batches;
    st.batches = 0;
  }
  w.finish();
  w.trim();
}

byte_vector split_batch_columns(byte_view raw, batch_columns_stats* stats) {
  byte_vector out;
  split_batch_columns(raw, out, stats);
  return out;
}

result<byte_vector> join_batch_columns(byte_view columns, std::size_t raw_size) {
  auto bad = [](const char* what) { return fail(errc::corrupt, std::string("batch columns: ") + what); };
  if (columns.size() < footer_size) return bad("shorter than its footer");
  if (columns.back() != form_version) return bad("unknown form (not version 1)");
  const std::size_t body = columns.size() - footer_size;
  cursors c;
  std::size_t at = 0;
  for (std::size_t i = 0; i < stream_count; ++i) {
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < 4; ++k) n |= std::uint32_t{columns[body + 4 * i + k]} << (8 * k);
    if (n > body - at) return bad("a stream runs past the end");
    c[i] = W::varint_reader(columns.subspan(at, n));
    at += n;
  }
  if (at != body) return bad("bytes between the last stream and the footer");
  byte_vector out;
  out.reserve(std::min(raw_size, columns.size() * 4));  // a lying raw_size cannot reserve much
  prediction p;
  while (!c[s_batches].done()) {
    std::uint8_t kind = 0;
    c[s_batches].read_uint8(kind);
    if (kind == kind_verbatim) {
      std::uint64_t n = 0;
      byte_view b;
      if (!c[s_batches].read_uvarlong(n) || n > raw_size - out.size() || !c[s_bulk].read_bytes(static_cast<std::size_t>(n), b))
        return bad("a verbatim batch runs past its stream or the frame");
      out.insert(out.end(), b.begin(), b.end());
    } else if (kind == kind_columns) {
      append_sink sink(out, raw_size);
      if (!rebuild_batch(c, p, sink)) return bad("a batch does not rebuild from its columns");
    } else {
      return bad("unknown batch kind");
    }
  }
  for (std::size_t i = 0; i < stream_count; ++i)
    if (!c[i].done()) return bad("a stream holds bytes no batch used");
  if (out.size() != raw_size) return bad("rebuilt size differs from the frame's raw size");
  return out;
}

}  // namespace kb::protocol
