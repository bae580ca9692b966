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
constexpr std::size_t stream_count = 6;
constexpr std::size_t preamble_size = 1 + 4 * stream_count;
constexpr std::uint8_t kind_verbatim = 0;
constexpr std::uint8_t kind_columns = 1;

enum stream_id : std::size_t { s_batches, s_records, s_keys, s_values, s_tails, s_verbatim };

// Differences wrap (two's complement), so every value has one and the rebuild is exact.
std::int64_t minus(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t plus(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

void put_uvarint(byte_vector& out, std::uint64_t v) {
  while (v >= 0x80u) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80u));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

/// Reads one stream of the column form; every read is bounds-checked.
struct cursor {
  byte_view in;
  std::size_t pos = 0;

  bool u8(std::uint8_t& v) noexcept {
    if (pos >= in.size()) return false;
    v = in[pos++];
    return true;
  }
  bool uvarint(std::uint64_t& v) noexcept {
    v = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos >= in.size()) return false;
      const std::uint8_t b = in[pos++];
      v |= std::uint64_t{b & 0x7Fu} << (7 * i);
      if ((b & 0x80u) == 0) return true;
    }
    return false;
  }
  bool zz(std::int64_t& v) noexcept {
    std::uint64_t u = 0;
    if (!uvarint(u)) return false;
    v = static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1u);
    return true;
  }
  bool take(std::size_t n, byte_view& out) noexcept {
    if (n > in.size() - pos) return false;
    out = in.subspan(pos, n);
    pos += n;
    return true;
  }
  [[nodiscard]] bool done() const noexcept { return pos == in.size(); }
};

using cursors = std::array<cursor, stream_count>;

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

/// Kafka's zig-zag varint of `v` into `out`; returns its length.
std::size_t put_zz(std::array<std::uint8_t, 10>& out, std::int64_t v) noexcept {
  std::uint64_t z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  std::size_t n = 0;
  while (z >= 0x80u) {
    out[n++] = static_cast<std::uint8_t>(z | 0x80u);
    z >>= 7;
  }
  out[n++] = static_cast<std::uint8_t>(z);
  return n;
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
    if (!c[s_batches].zz(v)) return false;
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
      if (!c[s_records].zz(v)) return false;
    const std::int64_t ts_delta = plus(prev_ts_delta, r[1]);
    const std::int64_t offset_delta = plus(i, r[2]);
    const std::int64_t key_len = r[3], value_len = r[4], tail_len = r[5];
    if (!fits<std::int8_t>(r[0]) || !fits<std::int32_t>(offset_delta) || !fits<std::int32_t>(key_len) ||
        key_len < -1 || !fits<std::int32_t>(value_len) || value_len < -1 || tail_len < 0)
      return false;
    prev_ts_delta = ts_delta;
    byte_view key, value, tail;
    if (!c[s_keys].take(key_len < 0 ? 0 : static_cast<std::size_t>(key_len), key) ||
        !c[s_values].take(value_len < 0 ? 0 : static_cast<std::size_t>(value_len), value) ||
        !c[s_tails].take(static_cast<std::size_t>(tail_len), tail))
      return false;
    // One record: length, attributes, timestamp delta, offset delta, key length, key, value
    // length, value, and the tail (header count and headers) as it was.
    std::array<std::array<std::uint8_t, 10>, 5> v{};
    std::array<std::size_t, 5> n{};
    n[1] = put_zz(v[1], ts_delta);
    n[2] = put_zz(v[2], offset_delta);
    n[3] = put_zz(v[3], key_len);
    n[4] = put_zz(v[4], value_len);
    const std::size_t body = 1 + n[1] + n[2] + n[3] + key.size() + n[4] + value.size() + tail.size();
    if (body > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return false;
    n[0] = put_zz(v[0], static_cast<std::int64_t>(body));
    const auto attr = static_cast<std::uint8_t>(r[0]);
    if (!sink.put(v[0].data(), n[0]) || !sink.put(&attr, 1) || !sink.put(v[1].data(), n[1]) ||
        !sink.put(v[2].data(), n[2]) || !sink.put(v[3].data(), n[3]) || !sink.put(key.data(), key.size()) ||
        !sink.put(v[4].data(), n[4]) || !sink.put(value.data(), value.size()) || !sink.put(tail.data(), tail.size()))
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

/// The writer's streams.
struct column_writer {
  std::array<byte_vector, stream_count> s;
  prediction p;

  void verbatim(byte_view b) {
    s[s_batches].push_back(kind_verbatim);
    put_uvarint(s[s_batches], b.size());
    s[s_verbatim].insert(s[s_verbatim].end(), b.begin(), b.end());
  }

  /// Splits one v2 batch into the streams; false (and the streams as they were) when it cannot
  /// be rebuilt exactly.
  bool columns(byte_view b) {
    if (b.size() < batch_header_size || b[batch_magic_offset] != 2) return false;
    const auto attributes = W::get_be<std::int16_t>(b.data() + batch_attributes_offset);
    if ((attributes & W::attr_codec_mask) != 0) return false;  // compressed records: nothing to split
    std::array<std::size_t, stream_count> mark{};
    for (std::size_t i = 0; i < stream_count; ++i) mark[i] = s[i].size();
    if (!write_columns(b, attributes)) return rollback(mark);
    // Rebuild what was just written and compare: only an exact copy is kept.
    cursors c;
    for (std::size_t i = 0; i < stream_count; ++i) c[i].in = byte_view(s[i]).subspan(mark[i]);
    std::uint8_t kind = 0;
    prediction next = p;
    compare_sink same(b);
    if (!c[s_batches].u8(kind) || !rebuild_batch(c, next, same)) return rollback(mark);
    p = next;
    return true;
  }

  bool rollback(const std::array<std::size_t, stream_count>& mark) {
    for (std::size_t i = 0; i < stream_count; ++i) s[i].resize(mark[i]);
    return false;
  }

  bool write_columns(byte_view b, std::int16_t attributes) {
    const auto count = W::get_be<std::int32_t>(b.data() + W::off_records_count);
    const auto last_delta = W::get_be<std::int32_t>(b.data() + W::off_last_offset_delta);
    const auto base_offset = W::get_be<std::int64_t>(b.data() + W::off_base_offset);
    const auto base_ts = W::get_be<std::int64_t>(b.data() + W::off_base_timestamp);
    const auto base_seq = W::get_be<std::int32_t>(b.data() + W::off_base_sequence);
    if (count < 0) return false;
    auto& bs = s[s_batches];
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
          !in.read_varint(key_len) || key_len < -1 || !in.read_bytes(key_len < 0 ? 0 : static_cast<std::size_t>(key_len), key) ||
          !in.read_varint(value_len) || value_len < -1 || !in.read_bytes(value_len < 0 ? 0 : static_cast<std::size_t>(value_len), value) ||
          in.pos() > end || !in.read_bytes(end - in.pos(), tail))
        return false;
      auto& rs = s[s_records];
      W::put_varlong(rs, attr);
      W::put_varlong(rs, minus(ts_delta, prev_ts_delta));
      W::put_varlong(rs, minus(offset_delta, i));
      W::put_varlong(rs, key_len);
      W::put_varlong(rs, value_len);
      W::put_varlong(rs, static_cast<std::int64_t>(tail.size()));
      prev_ts_delta = ts_delta;
      s[s_keys].insert(s[s_keys].end(), key.begin(), key.end());
      s[s_values].insert(s[s_values].end(), value.begin(), value.end());
      s[s_tails].insert(s[s_tails].end(), tail.begin(), tail.end());
    }
    return in.remaining() == 0;
  }

  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = preamble_size;
    for (const auto& x : s) n += x.size();
    return n;
  }

  [[nodiscard]] byte_vector assemble() const {
    byte_vector out;
    out.reserve(size());
    out.push_back(form_version);
    for (const auto& x : s) {
      const auto n = static_cast<std::uint32_t>(x.size());
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    }
    for (const auto& x : s) out.insert(out.end(), x.begin(), x.end());
    return out;
  }
};

}  // namespace

byte_vector split_batch_columns(byte_view raw, batch_columns_stats* stats) {
  batch_columns_stats local;
  batch_columns_stats& st = stats ? *stats : local;
  st = {};
  column_writer w;
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
    column_writer all;
    if (!raw.empty()) all.verbatim(raw);
    st.verbatim += st.batches;
    st.batches = 0;
    return all.assemble();
  }
  return w.assemble();
}

result<byte_vector> join_batch_columns(byte_view columns, std::size_t raw_size) {
  auto bad = [](const char* what) { return fail(errc::corrupt, std::string("batch columns: ") + what); };
  if (columns.size() < preamble_size) return bad("shorter than its preamble");
  if (columns[0] != form_version) return bad("unknown form (not version 1)");
  cursors c;
  std::size_t at = preamble_size;
  for (std::size_t i = 0; i < stream_count; ++i) {
    std::uint32_t n = 0;
    for (int k = 0; k < 4; ++k) n |= std::uint32_t{columns[1 + 4 * i + static_cast<std::size_t>(k)]} << (8 * k);
    if (n > columns.size() - at) return bad("a stream runs past the end");
    c[i].in = columns.subspan(at, n);
    at += n;
  }
  if (at != columns.size()) return bad("bytes after the last stream");
  byte_vector out;
  out.reserve(std::min(raw_size, columns.size() * 4));  // a lying raw_size cannot reserve much
  prediction p;
  while (!c[s_batches].done()) {
    std::uint8_t kind = 0;
    c[s_batches].u8(kind);
    if (kind == kind_verbatim) {
      std::uint64_t n = 0;
      byte_view b;
      if (!c[s_batches].uvarint(n) || n > raw_size - out.size() || !c[s_verbatim].take(static_cast<std::size_t>(n), b))
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
