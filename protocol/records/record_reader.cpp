// Kafka record iteration: the records of one v2 batch or v0/v1 message entry (decompressing
// once), and the transaction markers of control batches.
#include "protocol/records/record_batch.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "protocol/records/legacy_message.hpp"
#include "protocol/records/record_wire.hpp"

namespace kb::protocol {

using namespace record_wire;  // NOLINT(google-build-using-namespace): this file's own wire details

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

}  // namespace kb::protocol
