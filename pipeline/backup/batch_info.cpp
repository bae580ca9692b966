#include "pipeline/backup/batch_info.hpp"

#include <fmt/format.h>

namespace kb::pipeline::backup {

namespace fmt_ = storage::format;

namespace {

result<fmt_::batch_entry> describe_legacy(const protocol::fetched_batch& batch, fmt_::batch_entry e) {
  auto reader = protocol::record_reader::open(batch.bytes);
  if (!reader) {
    return fail(errc::corrupt, fmt::format("legacy message at offset {} does not decode: {}", batch.base_offset,
                                           reader.error().message));
  }
  protocol::record r;
  std::int32_t count = 0;
  for (;;) {
    auto more = reader->next(r);
    if (!more) {
      return fail(errc::corrupt, fmt::format("legacy message at offset {} does not decode: {}", batch.base_offset,
                                             more.error().message));
    }
    if (!*more) break;
    if (count == 0 || r.offset < e.first_offset) e.first_offset = r.offset;
    if (count == 0 || r.offset > e.last_offset) e.last_offset = r.offset;
    if (r.timestamp >= 0) {
      if (e.first_timestamp < 0 || r.timestamp < e.first_timestamp) e.first_timestamp = r.timestamp;
      e.max_timestamp = std::max(e.max_timestamp, r.timestamp);
    }
    ++count;
  }
  if (count == 0) return fail(errc::corrupt, fmt::format("legacy message at offset {} holds no record", batch.base_offset));
  if (e.last_offset != batch.last_offset) {
    return fail(errc::corrupt, fmt::format("legacy message at offset {} holds records up to offset {}", batch.base_offset,
                                           e.last_offset));
  }
  e.record_count = count;
  return e;
}

}  // namespace

result<fmt_::batch_entry> describe_batch(const protocol::fetched_batch& batch) {
  fmt_::batch_entry e;
  e.first_offset = batch.base_offset;
  e.last_offset = batch.last_offset;
  e.size = static_cast<std::uint32_t>(batch.bytes.size());
  if (batch.magic != 2) {
    // Legacy message (v0/v1): CRC-32 over the message; offsets come from the splitter.
    if (auto ok = protocol::check_batch_crc(batch.bytes.view()); !ok) {
      return fail(errc::corrupt, fmt::format("legacy message at offset {} failed its CRC check: {}",
                                             batch.base_offset, ok.error().message));
    }
    e.flags = fmt_::batch_flags::legacy;
    // The entry's own offset is that of its LAST inner message when it is a compressed wrapper
    // (v1: inner offsets are relative, KIP-31): the range, count and timestamps come from the
    // records, or a 2.x broker's gzip set of 50 records would be indexed as the one offset 49.
    return describe_legacy(batch, e);
  }
  auto h = protocol::record_batch_header::parse(batch.bytes.view());
  if (!h) return fail(std::move(h.error()));
  if (!h->verify_crc()) {
    return fail(errc::corrupt, fmt::format("record batch at offset {} failed its CRC-32C check (stored "
                                           "{:08x}, computed {:08x}); the broker served corrupt data",
                                           h->base_offset(), h->crc(), h->compute_crc()));
  }
  e.first_offset = h->base_offset();
  e.last_offset = h->last_offset();
  e.first_timestamp = h->base_timestamp();
  e.max_timestamp = h->max_timestamp();
  e.record_count = h->records_count();
  e.producer_id = h->producer_id();
  e.producer_epoch = h->producer_epoch();
  e.base_sequence = h->base_sequence();
  if (h->is_transactional()) e.flags |= fmt_::batch_flags::transactional;
  if (h->ts_type() == protocol::timestamp_type::log_append_time) e.flags |= fmt_::batch_flags::log_append_time;
  if (h->is_control()) {
    e.flags |= fmt_::batch_flags::control;
    // The one record of a control batch: its key says COMMIT or ABORT.
    auto recs = protocol::read_records(batch.bytes);
    if (!recs) return fail(std::move(recs.error()));
    for (const auto& r : *recs) {
      auto c = protocol::parse_control_record(r);
      if (!c) continue;  // unknown control types (e.g. KRaft's) carry no outcome
      e.flags |= c->type == protocol::control_type::commit ? fmt_::batch_flags::commit_marker
                                                           : fmt_::batch_flags::abort_marker;
      break;
    }
  }
  return e;
}

std::optional<fmt_::txn_span> txn_tracker::observe(const fmt_::batch_entry& e) {
  if ((e.flags & fmt_::batch_flags::transactional) == 0 || e.producer_id < 0) return std::nullopt;
  const bool marker = (e.flags & (fmt_::batch_flags::commit_marker | fmt_::batch_flags::abort_marker)) != 0;
  if (!marker) {
    auto [it, fresh] = open_.try_emplace(e.producer_id);
    if (fresh) {
      it->second.producer_id = e.producer_id;
      it->second.first_offset = e.first_offset;
    }
    it->second.producer_epoch = e.producer_epoch;
    it->second.last_offset = e.last_offset;
    return std::nullopt;
  }
  fmt_::txn_span span;
  auto it = open_.find(e.producer_id);
  if (it != open_.end()) {
    span = it->second;
    open_.erase(it);
  } else {
    // A marker without data seen here (the data lies before the backup's start).
    span.producer_id = e.producer_id;
    span.first_offset = e.first_offset;
  }
  span.producer_epoch = e.producer_epoch;
  span.last_offset = e.last_offset;
  span.outcome = (e.flags & fmt_::batch_flags::commit_marker) != 0 ? fmt_::txn_outcome::committed
                                                                   : fmt_::txn_outcome::aborted;
  return span;
}

std::vector<fmt_::txn_span> txn_tracker::open_spans() const {
  std::vector<fmt_::txn_span> out;
  out.reserve(open_.size());
  for (const auto& [pid, s] : open_) out.push_back(s);
  return out;
}

void txn_tracker::restore(const std::vector<fmt_::txn_span>& spans) {
  for (const auto& s : spans) {
    if (s.outcome != fmt_::txn_outcome::open) continue;
    auto& slot = open_[s.producer_id];
    if (slot.producer_id < 0 || s.first_offset < slot.first_offset) slot = s;
  }
}

}  // namespace kb::pipeline::backup
