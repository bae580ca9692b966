#include "protocol/records/record_batch.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <zlib.h>

#include "base/crc32c.hpp"

namespace kb::protocol {

namespace {

// ---- big-endian fixed-width fields --------------------------------------------------------

template <class T>
T get_be(const std::uint8_t* p) noexcept {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<U>((v << 8) | p[i]);
  return static_cast<T>(v);
}

template <class T>
void set_be(std::uint8_t* p, T value) noexcept {
  using U = std::make_unsigned_t<T>;
  auto v = static_cast<U>(value);
  for (std::size_t i = sizeof(T); i-- > 0;) {
    p[i] = static_cast<std::uint8_t>(v & 0xFFu);
    v = static_cast<U>(v >> 8);
  }
}

template <class T>
void put_be(byte_vector& out, T value) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  set_be(out.data() + at, value);
}

// v2 header field offsets.
constexpr std::size_t off_base_offset = 0;
constexpr std::size_t off_batch_length = 8;
constexpr std::size_t off_leader_epoch = 12;
constexpr std::size_t off_last_offset_delta = 23;
constexpr std::size_t off_base_timestamp = 27;
constexpr std::size_t off_max_timestamp = 35;
constexpr std::size_t off_producer_id = 43;
constexpr std::size_t off_producer_epoch = 51;
constexpr std::size_t off_base_sequence = 53;
constexpr std::size_t off_records_count = 57;

constexpr std::int16_t attr_codec_mask = 0x07;
constexpr std::int16_t attr_timestamp_type = 0x08;
constexpr std::int16_t attr_transactional = 0x10;
constexpr std::int16_t attr_control = 0x20;
constexpr std::int16_t attr_delete_horizon = 0x40;

// Legacy (magic 0/1) message layout: offset int64, size int32, crc uint32, magic int8,
// attributes int8, [timestamp int64 in v1], key bytes, value bytes.
constexpr std::size_t legacy_min_size_v0 = 4 + 1 + 1 + 4 + 4;  // size field counts from crc
constexpr std::size_t legacy_min_size_v1 = legacy_min_size_v0 + 8;
constexpr std::int8_t legacy_attr_codec_mask = 0x07;
constexpr std::int8_t legacy_attr_timestamp_type = 0x08;

tl::unexpected<error> corrupt(std::string what) {
  return fail(errc::corrupt, "record batch is malformed: " + what);
}

// ---- zig-zag varints (Kafka's record fields) ------------------------------------------------

class varint_reader {
 public:
  explicit varint_reader(byte_view in) noexcept : in_(in) {}

  bool read_varlong(std::int64_t& out, int max_bytes = 10) noexcept {
    std::uint64_t raw = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (pos_ >= in_.size()) return false;
      const std::uint8_t b = in_[pos_++];
      raw |= std::uint64_t{b & 0x7Fu} << (7 * i);
      if ((b & 0x80u) == 0) {
        out = static_cast<std::int64_t>(raw >> 1) ^ -static_cast<std::int64_t>(raw & 1u);
        return true;
      }
    }
    return false;
  }
  bool read_varint(std::int32_t& out) noexcept {
    std::int64_t v = 0;
    if (!read_varlong(v, 5)) return false;
    if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) return false;
    out = static_cast<std::int32_t>(v);
    return true;
  }
  bool read_int8(std::int8_t& out) noexcept {
    if (pos_ >= in_.size()) return false;
    out = static_cast<std::int8_t>(in_[pos_++]);
    return true;
  }
  bool read_bytes(std::size_t n, byte_view& out) noexcept {
    if (n > in_.size() - pos_) return false;
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // Length-prefixed (varint) nullable bytes.
  bool read_nullable(std::optional<byte_view>& out) noexcept {
    std::int32_t len = 0;
    if (!read_varint(len) || len < -1) return false;
    if (len == -1) {
      out.reset();
      return true;
    }
    byte_view b;
    if (!read_bytes(static_cast<std::size_t>(len), b)) return false;
    out = b;
    return true;
  }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }

 private:
  byte_view in_;
  std::size_t pos_ = 0;
};

std::size_t varlong_size(std::int64_t v) noexcept {
  std::uint64_t z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  std::size_t n = 1;
  while (z >= 0x80u) {
    z >>= 7;
    ++n;
  }
  return n;
}

void put_varlong(byte_vector& out, std::int64_t v) {
  std::uint64_t z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  while (z >= 0x80u) {
    out.push_back(static_cast<std::uint8_t>(z | 0x80u));
    z >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(z));
}

std::size_t nullable_size(const std::optional<byte_view>& b) noexcept {
  return b ? varlong_size(static_cast<std::int64_t>(b->size())) + b->size() : varlong_size(-1);
}

void put_nullable(byte_vector& out, const std::optional<byte_view>& b) {
  if (!b) {
    put_varlong(out, -1);
    return;
  }
  put_varlong(out, static_cast<std::int64_t>(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

// ---- legacy messages -------------------------------------------------------------------------

struct legacy_message {
  std::int64_t offset = 0;
  std::int8_t magic = 0;
  std::int8_t attributes = 0;
  std::int64_t timestamp = -1;
  std::uint32_t crc = 0;
  byte_view crc_covered;  // magic..end of message
  std::optional<byte_view> key;
  std::optional<byte_view> value;
  std::size_t entry_size = 0;  // 12 + size
};

bool read_legacy_bytes(byte_view in, std::size_t& pos, std::optional<byte_view>& out) noexcept {
  if (in.size() - pos < 4) return false;
  const auto len = get_be<std::int32_t>(in.data() + pos);
  pos += 4;
  if (len < -1) return false;
  if (len == -1) {
    out.reset();
    return true;
  }
  if (static_cast<std::size_t>(len) > in.size() - pos) return false;
  out = in.subspan(pos, static_cast<std::size_t>(len));
  pos += static_cast<std::size_t>(len);
  return true;
}

// Parses one complete legacy entry at the start of `in`.
result<legacy_message> parse_legacy(byte_view in) {
  if (in.size() < batch_log_overhead + 5) return corrupt("legacy message entry is truncated");
  legacy_message m;
  m.offset = get_be<std::int64_t>(in.data());
  const auto size = get_be<std::int32_t>(in.data() + 8);
  if (size < 0 || static_cast<std::size_t>(size) > in.size() - batch_log_overhead) {
    return corrupt("legacy message size exceeds the data");
  }
  m.entry_size = batch_log_overhead + static_cast<std::size_t>(size);
  const byte_view msg = in.subspan(batch_log_overhead, static_cast<std::size_t>(size));
  m.crc = get_be<std::uint32_t>(msg.data());
  m.magic = static_cast<std::int8_t>(msg[4]);
  if (m.magic != 0 && m.magic != 1) return corrupt(fmt::format("legacy message has magic {}", m.magic));
  const std::size_t min = m.magic == 0 ? legacy_min_size_v0 : legacy_min_size_v1;
  if (msg.size() < min) return corrupt("legacy message is shorter than its fixed fields");
  m.crc_covered = msg.subspan(4);
  m.attributes = static_cast<std::int8_t>(msg[5]);
  std::size_t pos = 6;
  if (m.magic == 1) {
    m.timestamp = get_be<std::int64_t>(msg.data() + pos);
    pos += 8;
  }
  if (!read_legacy_bytes(msg, pos, m.key) || !read_legacy_bytes(msg, pos, m.value)) {
    return corrupt("legacy message key or value length exceeds the message");
  }
  if (pos != msg.size()) return corrupt("legacy message has trailing bytes");
  return m;
}

bool legacy_crc_ok(const legacy_message& m) noexcept {
  const auto c = crc32(0L, m.crc_covered.data(), static_cast<uInt>(m.crc_covered.size()));
  return static_cast<std::uint32_t>(c) == m.crc;
}

std::int8_t magic_of(byte_view batch) noexcept {
  return static_cast<std::int8_t>(batch[batch_magic_offset]);
}

}  // namespace

// ---- record_batch_header ------------------------------------------------------------------

result<record_batch_header> record_batch_header::parse(byte_view batch) {
  if (batch.size() < batch_header_size) {
    return corrupt(fmt::format("{} bytes is shorter than the 61-byte v2 header", batch.size()));
  }
  if (magic_of(batch) != 2) {
    return corrupt(fmt::format("magic {} is not 2 (use the legacy reader for 0/1)", magic_of(batch)));
  }
  const auto length = get_be<std::int32_t>(batch.data() + off_batch_length);
  if (length < static_cast<std::int32_t>(batch_header_size - batch_log_overhead)) {
    return corrupt(fmt::format("batch_length {} is below the 49-byte minimum", length));
  }
  return record_batch_header(batch);
}

std::int64_t record_batch_header::base_offset() const noexcept { return get_be<std::int64_t>(bytes_.data()); }
std::int32_t record_batch_header::batch_length() const noexcept {
  return get_be<std::int32_t>(bytes_.data() + off_batch_length);
}
std::int32_t record_batch_header::partition_leader_epoch() const noexcept {
  return get_be<std::int32_t>(bytes_.data() + off_leader_epoch);
}
std::int8_t record_batch_header::magic() const noexcept { return magic_of(bytes_); }
std::uint32_t record_batch_header::crc() const noexcept {
  return get_be<std::uint32_t>(bytes_.data() + batch_crc_offset);
}
std::int16_t record_batch_header::attributes() const noexcept {
  return get_be<std::int16_t>(bytes_.data() + batch_attributes_offset);
}
int record_batch_header::codec_id() const noexcept { return attributes() & attr_codec_mask; }
compression_codec record_batch_header::codec() const noexcept {
  const int id = codec_id();
  return id <= 4 ? static_cast<compression_codec>(id) : compression_codec::none;
}
timestamp_type record_batch_header::ts_type() const noexcept {
  return (attributes() & attr_timestamp_type) ? timestamp_type::log_append_time : timestamp_type::create_time;
}
bool record_batch_header::is_transactional() const noexcept { return (attributes() & attr_transactional) != 0; }
bool record_batch_header::is_control() const noexcept { return (attributes() & attr_control) != 0; }
bool record_batch_header::has_delete_horizon() const noexcept { return (attributes() & attr_delete_horizon) != 0; }
std::int32_t record_batch_header::last_offset_delta() const noexcept {
  return get_be<std::int32_t>(bytes_.data() + off_last_offset_delta);
}
std::int64_t record_batch_header::base_timestamp() const noexcept {
  return get_be<std::int64_t>(bytes_.data() + off_base_timestamp);
}
std::int64_t record_batch_header::max_timestamp() const noexcept {
  return get_be<std::int64_t>(bytes_.data() + off_max_timestamp);
}
std::int64_t record_batch_header::producer_id() const noexcept {
  return get_be<std::int64_t>(bytes_.data() + off_producer_id);
}
std::int16_t record_batch_header::producer_epoch() const noexcept {
  return get_be<std::int16_t>(bytes_.data() + off_producer_epoch);
}
std::int32_t record_batch_header::base_sequence() const noexcept {
  return get_be<std::int32_t>(bytes_.data() + off_base_sequence);
}
std::int32_t record_batch_header::records_count() const noexcept {
  return get_be<std::int32_t>(bytes_.data() + off_records_count);
}
std::size_t record_batch_header::total_size() const noexcept {
  return static_cast<std::size_t>(batch_length()) + batch_log_overhead;
}
std::uint32_t record_batch_header::compute_crc() const noexcept {
  const std::size_t end = std::min(total_size(), bytes_.size());
  return crc32c(bytes_.subspan(batch_attributes_offset, end - batch_attributes_offset));
}
byte_view record_batch_header::records_bytes() const noexcept {
  const std::size_t end = std::min(total_size(), bytes_.size());
  return bytes_.subspan(batch_header_size, end - batch_header_size);
}

result<void> check_batch_crc(byte_view batch) {
  if (batch.size() <= batch_magic_offset) return corrupt("batch is too short to hold a magic byte");
  const std::int8_t magic = magic_of(batch);
  if (magic == 2) {
    auto h = record_batch_header::parse(batch);
    if (!h) return fail(h.error());
    if (!h->complete()) return corrupt("batch is truncated");
    if (!h->verify_crc()) {
      return fail(errc::corrupt, fmt::format("record batch at offset {} failed its CRC-32C check (stored {:#010x}, "
                                             "computed {:#010x})",
                                             h->base_offset(), h->crc(), h->compute_crc()));
    }
    return {};
  }
  auto m = parse_legacy(batch);
  if (!m) return fail(m.error());
  if (!legacy_crc_ok(*m)) {
    return fail(errc::corrupt, fmt::format("legacy message at offset {} failed its CRC-32 check", m->offset));
  }
  return {};
}

// ---- splitter -----------------------------------------------------------------------------------

result<std::optional<fetched_batch>> batch_splitter::next() {
  if (truncated_) return std::nullopt;
  const byte_view all = records_.view();
  const std::size_t left = all.size() - pos_;
  if (left == 0) return std::nullopt;
  if (left < batch_log_overhead) {
    truncated_ = true;
    return std::nullopt;
  }
  const std::uint8_t* p = all.data() + pos_;
  const auto length = get_be<std::int32_t>(p + off_batch_length);
  if (length < 5) {
    return corrupt(fmt::format("length {} at byte {} is too small to hold a magic byte", length, pos_));
  }
  const std::size_t total = batch_log_overhead + static_cast<std::size_t>(length);
  if (left < total) {
    truncated_ = true;  // the broker cut the last batch at max_bytes: re-fetch it
    return std::nullopt;
  }
  fetched_batch b;
  b.magic = static_cast<std::int8_t>(p[batch_magic_offset]);
  b.base_offset = get_be<std::int64_t>(p);
  if (b.magic == 2) {
    if (total < batch_header_size) return corrupt(fmt::format("batch_length {} is below the 49-byte minimum", length));
    const auto delta = get_be<std::int32_t>(p + off_last_offset_delta);
    // Offsets are never negative; checking both also keeps the sum (and next_offset_) in range.
    if (b.base_offset < 0 || delta < 0 || b.base_offset > std::numeric_limits<std::int64_t>::max() - delta - 1) {
      return corrupt(fmt::format("base offset {} with last offset delta {} at byte {} is out of range",
                                 b.base_offset, delta, pos_));
    }
    b.last_offset = b.base_offset + delta;
  } else if (b.magic == 0 || b.magic == 1) {
    const std::size_t min = b.magic == 0 ? legacy_min_size_v0 : legacy_min_size_v1;
    if (static_cast<std::size_t>(length) < min) return corrupt("legacy message is shorter than its fixed fields");
    if (b.base_offset < 0 || b.base_offset == std::numeric_limits<std::int64_t>::max()) {
      return corrupt(fmt::format("offset {} at byte {} is out of range", b.base_offset, pos_));
    }
    b.last_offset = b.base_offset;
  } else {
    return corrupt(fmt::format("unknown magic byte {} at byte {}", b.magic, pos_ + batch_magic_offset));
  }
  b.bytes = records_.slice(pos_, total);
  pos_ += total;
  next_offset_ = b.last_offset + 1;
  return std::optional<fetched_batch>(std::move(b));
}

result<split_result> split_batches(const shared_bytes& records) {
  split_result out;
  batch_splitter s(records);
  for (;;) {
    auto b = s.next();
    if (!b) return fail(b.error());
    if (!*b) break;
    out.batches.push_back(std::move(**b));
  }
  out.truncated = s.truncated();
  return out;
}

// ---- record reader ---------------------------------------------------------------------------

result<record_reader> record_reader::open(shared_bytes batch, const record_reader_options& options) {
  const byte_view bytes = batch.view();
  if (bytes.size() <= batch_magic_offset) return corrupt("batch is too short to hold a magic byte");
  record_reader r;
  r.magic_ = magic_of(bytes);
  r.verify_crc_ = options.verify_crc;
  if (r.magic_ == 2) {
    auto h = record_batch_header::parse(bytes);
    if (!h) return fail(h.error());
    if (!h->complete()) return corrupt("batch is truncated");
    if (options.verify_crc) {
      if (auto ok = check_batch_crc(bytes); !ok) return fail(ok.error());
    }
    if (h->codec_id() > 4) return fail(errc::unsupported, fmt::format("batch uses unknown codec id {}", h->codec_id()));
    if (h->records_count() < 0) return corrupt(fmt::format("records_count {} is negative", h->records_count()));
    r.control_ = h->is_control();
    r.remaining_ = h->records_count();
    r.base_offset_ = h->base_offset();
    r.base_timestamp_ = h->base_timestamp();
    r.max_timestamp_ = h->max_timestamp();
    r.ts_type_ = h->ts_type();
    if (h->codec() == compression_codec::none) {
      r.cursor_ = h->records_bytes();
    } else {
      decompress_options d;
      d.max_output = options.max_decompressed;
      d.size_hint = std::min<std::size_t>(h->records_bytes().size() * 4, options.max_decompressed);
      auto plain = decompress(h->codec(), h->records_bytes(), d);
      if (!plain) return fail(plain.error());
      r.decompressed_ = shared_bytes(std::move(*plain));
      r.cursor_ = r.decompressed_.view();
    }
    r.batch_ = std::move(batch);
    return r;
  }
  if (r.magic_ != 0 && r.magic_ != 1) return corrupt(fmt::format("unknown magic byte {}", r.magic_));
  auto m = parse_legacy(bytes);
  if (!m) return fail(m.error());
  if (options.verify_crc && !legacy_crc_ok(*m)) {
    return fail(errc::corrupt, fmt::format("legacy message at offset {} failed its CRC-32 check", m->offset));
  }
  const int codec_id = m->attributes & legacy_attr_codec_mask;
  if (codec_id == 0) {
    r.legacy_single_ = true;
    r.cursor_ = bytes.first(m->entry_size);
    r.batch_ = std::move(batch);
    return r;
  }
  if (codec_id > 3) return fail(errc::unsupported, fmt::format("legacy message uses codec id {}", codec_id));
  if (!m->value) return corrupt("compressed legacy wrapper has a null value");
  decompress_options d;
  d.max_output = options.max_decompressed;
  d.lz4_legacy_header_checksum = true;  // KIP-57: magic-0 producers wrote a bad LZ4 HC byte
  auto plain = decompress(static_cast<compression_codec>(codec_id), *m->value, d);
  if (!plain) return fail(plain.error());
  r.decompressed_ = shared_bytes(std::move(*plain));
  r.cursor_ = r.decompressed_.view();
  if (m->magic == 1) {
    // KIP-31: inner offsets are relative (0..n-1); the wrapper holds the absolute offset of
    // the last inner message.
    std::int64_t last_inner = 0;
    byte_view scan = r.cursor_;
    bool any = false;
    while (!scan.empty()) {
      if (scan.size() < batch_log_overhead) return corrupt("inner message set is truncated");
      const auto size = get_be<std::int32_t>(scan.data() + 8);
      if (size < 0 || static_cast<std::size_t>(size) > scan.size() - batch_log_overhead) {
        return corrupt("inner message size exceeds the decompressed data");
      }
      last_inner = get_be<std::int64_t>(scan.data());
      any = true;
      scan = scan.subspan(batch_log_overhead + static_cast<std::size_t>(size));
    }
    if (!any) return corrupt("compressed legacy wrapper holds no messages");
    if (__builtin_sub_overflow(m->offset, last_inner, &r.legacy_offset_shift_)) {
      return corrupt(fmt::format("inner offset {} is out of range of the wrapper offset {}", last_inner, m->offset));
    }
    if (m->attributes & legacy_attr_timestamp_type) {
      r.ts_type_ = timestamp_type::log_append_time;
      r.wrapper_timestamp_ = m->timestamp;
    }
  }
  r.batch_ = std::move(batch);
  return r;
}

result<bool> record_reader::next(record& out) {
  return magic_ == 2 ? next_v2(out) : next_legacy(out);
}

result<bool> record_reader::next_v2(record& out) {
  if (remaining_ == 0) {
    if (!cursor_.empty()) return corrupt(fmt::format("{} bytes follow the last record", cursor_.size()));
    return false;
  }
  varint_reader in(cursor_);
  std::int32_t length = 0;
  if (!in.read_varint(length) || length < 0 || static_cast<std::size_t>(length) > in.remaining()) {
    return corrupt("record length is invalid or exceeds the batch");
  }
  byte_view body_bytes;
  (void)in.read_bytes(static_cast<std::size_t>(length), body_bytes);
  cursor_ = cursor_.subspan(in.pos());
  --remaining_;

  varint_reader body(body_bytes);
  std::int64_t ts_delta = 0;
  std::int32_t offset_delta = 0;
  std::int32_t header_count = 0;
  if (!body.read_int8(out.attributes) || !body.read_varlong(ts_delta) || !body.read_varint(offset_delta) ||
      !body.read_nullable(out.key) || !body.read_nullable(out.value) || !body.read_varint(header_count) ||
      header_count < 0) {
    return corrupt("record fields exceed the record length");
  }
  out.headers.clear();
  for (std::int32_t i = 0; i < header_count; ++i) {
    record_header h;
    std::int32_t key_len = 0;
    if (!body.read_varint(key_len) || key_len < 0 || !body.read_bytes(static_cast<std::size_t>(key_len), h.key) ||
        !body.read_nullable(h.value)) {
      return corrupt("record header exceeds the record length");
    }
    out.headers.push_back(h);
  }
  if (body.remaining() != 0) return corrupt("record has bytes past its last header");
  // Both deltas come off the wire: a sum outside int64 is a corrupt batch, not undefined behaviour.
  if (__builtin_add_overflow(base_offset_, static_cast<std::int64_t>(offset_delta), &out.offset)) {
    return corrupt(fmt::format("record offset delta {} overflows the base offset {}", offset_delta, base_offset_));
  }
  out.ts_type = ts_type_;
  if (ts_type_ == timestamp_type::log_append_time) {
    out.timestamp = max_timestamp_;
  } else if (__builtin_add_overflow(base_timestamp_, ts_delta, &out.timestamp)) {
    return corrupt(fmt::format("record timestamp delta {} overflows the base timestamp {}", ts_delta, base_timestamp_));
  }
  return true;
}

result<bool> record_reader::next_legacy(record& out) {
  if (cursor_.empty()) return false;
  auto m = parse_legacy(cursor_);
  if (!m) return fail(m.error());
  cursor_ = cursor_.subspan(m->entry_size);
  if (!legacy_single_) {
    if ((m->attributes & legacy_attr_codec_mask) != 0) return corrupt("nested compressed legacy message");
    if (verify_crc_ && !legacy_crc_ok(*m)) {
      return fail(errc::corrupt, fmt::format("inner legacy message at offset {} failed its CRC-32 check", m->offset));
    }
  }
  if (__builtin_add_overflow(m->offset, legacy_offset_shift_, &out.offset)) {
    return corrupt(fmt::format("inner legacy message offset {} is out of range of its wrapper", m->offset));
  }
  out.attributes = m->attributes;
  out.key = m->key;
  out.value = m->value;
  out.headers.clear();
  if (m->magic == 0) {
    out.timestamp = -1;
    out.ts_type = timestamp_type::none;
  } else if (wrapper_timestamp_ >= 0 && ts_type_ == timestamp_type::log_append_time) {
    out.timestamp = wrapper_timestamp_;
    out.ts_type = timestamp_type::log_append_time;
  } else {
    out.timestamp = m->timestamp;
    out.ts_type = (m->attributes & legacy_attr_timestamp_type) ? timestamp_type::log_append_time
                                                               : timestamp_type::create_time;
  }
  return true;
}

result<record_set> read_records(const shared_bytes& batch, const record_reader_options& options) {
  auto reader = record_reader::open(batch, options);
  if (!reader) return fail(reader.error());
  record_set out;
  out.batch = reader->batch();
  out.decompressed = reader->decompressed();
  for (;;) {
    record r;
    auto more = reader->next(r);
    if (!more) return fail(more.error());
    if (!*more) break;
    out.records.push_back(std::move(r));
  }
  return out;
}

// ---- control records --------------------------------------------------------------------------

result<control_record> parse_control_record(const record& r) {
  if (!r.key || r.key->size() < 4) return corrupt("control record key is shorter than 4 bytes");
  control_record c;
  c.version = get_be<std::int16_t>(r.key->data());
  const auto type = get_be<std::int16_t>(r.key->data() + 2);
  if (type != 0 && type != 1) {
    return fail(errc::unsupported, fmt::format("control record type {} is not a transaction marker", type));
  }
  c.type = static_cast<control_type>(type);
  if (r.value && r.value->size() >= 6) {
    c.value_version = get_be<std::int16_t>(r.value->data());
    c.coordinator_epoch = get_be<std::int32_t>(r.value->data() + 2);
  }
  return c;
}

// ---- builder ---------------------------------------------------------------------------------

record_batch_builder::record_batch_builder(batch_options options) : options_(options) {}

void record_batch_builder::add(std::int64_t timestamp, std::optional<byte_view> key, std::optional<byte_view> value,
                               std::span<const record_header> headers) {
  if (count_ == 0) base_timestamp_ = timestamp;
  max_timestamp_ = count_ == 0 ? timestamp : std::max(max_timestamp_, timestamp);
  const std::int64_t ts_delta = timestamp - base_timestamp_;
  const std::int64_t offset_delta = count_;
  std::size_t body = 1 + varlong_size(ts_delta) + varlong_size(offset_delta) + nullable_size(key) +
                     nullable_size(value) + varlong_size(static_cast<std::int64_t>(headers.size()));
  for (const auto& h : headers) {
    body += varlong_size(static_cast<std::int64_t>(h.key.size())) + h.key.size() + nullable_size(h.value);
  }
  put_varlong(records_, static_cast<std::int64_t>(body));
  records_.push_back(0);  // record attributes: unused
  put_varlong(records_, ts_delta);
  put_varlong(records_, offset_delta);
  put_nullable(records_, key);
  put_nullable(records_, value);
  put_varlong(records_, static_cast<std::int64_t>(headers.size()));
  for (const auto& h : headers) {
    put_nullable(records_, std::optional<byte_view>(h.key));
    put_nullable(records_, h.value);
  }
  ++count_;
}

result<byte_vector> record_batch_builder::build() {
  if (count_ == 0) return fail(errc::invalid_argument, "cannot build an empty record batch");
  byte_vector compressed;
  byte_view payload = records_;
  if (options_.codec != compression_codec::none) {
    auto c = compress(options_.codec, records_, options_.level);
    if (!c) return fail(c.error());
    compressed = std::move(*c);
    payload = compressed;
  }
  std::int16_t attributes = static_cast<std::int16_t>(options_.codec);
  if (options_.ts_type == timestamp_type::log_append_time) attributes |= attr_timestamp_type;
  if (options_.transactional) attributes |= attr_transactional;
  if (options_.control) attributes |= attr_control;

  byte_vector out;
  out.reserve(batch_header_size + payload.size());
  put_be<std::int64_t>(out, options_.base_offset);
  put_be<std::int32_t>(out, 0);  // batch_length, back-patched
  put_be<std::int32_t>(out, options_.partition_leader_epoch);
  out.push_back(2);              // magic
  put_be<std::uint32_t>(out, 0);  // crc, back-patched
  put_be<std::int16_t>(out, attributes);
  put_be<std::int32_t>(out, count_ - 1);  // last_offset_delta
  put_be<std::int64_t>(out, base_timestamp_);
  put_be<std::int64_t>(out, max_timestamp_);
  put_be<std::int64_t>(out, options_.producer_id);
  put_be<std::int16_t>(out, options_.producer_epoch);
  put_be<std::int32_t>(out, options_.base_sequence);
  put_be<std::int32_t>(out, count_);
  out.insert(out.end(), payload.begin(), payload.end());
  if (out.size() - batch_log_overhead > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return fail(errc::invalid_argument, "record batch would exceed 2 GiB");
  }
  set_be<std::int32_t>(out.data() + off_batch_length, static_cast<std::int32_t>(out.size() - batch_log_overhead));
  set_be<std::uint32_t>(out.data() + batch_crc_offset,
                        crc32c(byte_view(out).subspan(batch_attributes_offset)));
  records_.clear();
  count_ = 0;
  max_timestamp_ = -1;
  return out;
}

result<byte_vector> build_control_batch(control_type type, std::int64_t producer_id, std::int16_t producer_epoch,
                                        std::int32_t coordinator_epoch, std::int64_t timestamp,
                                        std::int64_t base_offset) {
  batch_options o;
  o.base_offset = base_offset;
  o.producer_id = producer_id;
  o.producer_epoch = producer_epoch;
  o.transactional = true;
  o.control = true;
  record_batch_builder b(o);
  byte_vector key;
  put_be<std::int16_t>(key, 0);  // version
  put_be<std::int16_t>(key, static_cast<std::int16_t>(type));
  byte_vector value;
  put_be<std::int16_t>(value, 0);  // version
  put_be<std::int32_t>(value, coordinator_epoch);
  b.add(timestamp, byte_view(key), byte_view(value));
  return b.build();
}

// ---- patcher ---------------------------------------------------------------------------------

result<void> patch_batch_header(mutable_byte_view batch, const batch_header_patch& patch) {
  auto h = record_batch_header::parse(batch);
  if (!h) return fail(h.error());
  if (!h->complete()) return corrupt("cannot patch a truncated batch");
  std::uint8_t* p = batch.data();
  if (patch.base_offset) set_be(p + off_base_offset, *patch.base_offset);
  if (patch.partition_leader_epoch) set_be(p + off_leader_epoch, *patch.partition_leader_epoch);
  if (patch.producer_id) set_be(p + off_producer_id, *patch.producer_id);
  if (patch.producer_epoch) set_be(p + off_producer_epoch, *patch.producer_epoch);
  if (patch.base_sequence) set_be(p + off_base_sequence, *patch.base_sequence);
  auto attributes = h->attributes();
  const auto set_bit = [&attributes](std::int16_t bit, bool on) {
    attributes = static_cast<std::int16_t>(on ? (attributes | bit) : (attributes & ~bit));
  };
  if (patch.transactional) set_bit(attr_transactional, *patch.transactional);
  if (patch.has_delete_horizon) set_bit(attr_delete_horizon, *patch.has_delete_horizon);
  if (patch.ts_type) {
    if (*patch.ts_type == timestamp_type::none) {
      return fail(errc::invalid_argument, "a v2 batch has no 'none' timestamp type");
    }
    set_bit(attr_timestamp_type, *patch.ts_type == timestamp_type::log_append_time);
  }
  set_be(p + batch_attributes_offset, attributes);
  set_be<std::uint32_t>(p + batch_crc_offset, h->compute_crc());
  return {};
}

}  // namespace kb::protocol
