// Kafka record batch writing: the v2 batch builder, control batches, and the in-place header patcher.
#include "protocol/records/record_batch.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "base/crc32c.hpp"
#include "protocol/records/record_wire.hpp"

namespace kb::protocol {

using namespace record_wire;  // NOLINT(google-build-using-namespace): this file's own wire details

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
