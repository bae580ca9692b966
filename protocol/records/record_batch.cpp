// Kafka record batches: the zero-copy v2 header view, the checksum check of any magic, and
// the splitter that cuts a fetch response's records bytes into batches.
#include "protocol/records/record_batch.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "base/crc32c.hpp"
#include "protocol/records/legacy_message.hpp"
#include "protocol/records/record_wire.hpp"

namespace kb::protocol {

using namespace record_wire;  // NOLINT(google-build-using-namespace): this file's own wire details

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

}  // namespace kb::protocol
