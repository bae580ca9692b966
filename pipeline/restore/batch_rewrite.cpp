// Restore's per-batch decision and the re-encoding of the batches the broker would reject.
#include "pipeline/restore/batch_rewrite.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "protocol/records/record_batch.hpp"

namespace kb::pipeline::restore {

namespace fmt_ = storage::format;
using protocol::compression_codec;

// ---- transactions -------------------------------------------------------------------------

void txn_filter::observe(const fmt_::batch_entry& entry) {
  const std::int64_t pid = entry.producer_id;
  if (entry.flags & fmt_::batch_flags::control) {
    auto open = open_.find(pid);
    if (open == open_.end()) return;
    if (entry.flags & fmt_::batch_flags::abort_marker) {
      range r{open->second, entry.first_offset};
      by_producer_[pid].push_back(r);
      ranges_.push_back(r);
    }
    // A commit (or a marker we cannot read) closes the transaction; only ABORT drops it.
    if (entry.flags & (fmt_::batch_flags::abort_marker | fmt_::batch_flags::commit_marker)) open_.erase(open);
    return;
  }
  if ((entry.flags & fmt_::batch_flags::transactional) && !open_.contains(pid)) open_[pid] = entry.first_offset;
}

void txn_filter::observe_span(const fmt_::txn_span& span) {
  if (span.outcome != fmt_::txn_outcome::aborted) return;
  range r{span.first_offset, span.last_offset};
  by_producer_[span.producer_id].push_back(r);
  ranges_.push_back(r);
}

void txn_filter::finish() {
  for (const auto& [pid, first] : open_) {
    range r{first, std::numeric_limits<std::int64_t>::max()};
    by_producer_[pid].push_back(r);
    ranges_.push_back(r);
  }
  open_.clear();
}

bool txn_filter::dropped(const fmt_::batch_entry& entry) const {
  if (!(entry.flags & fmt_::batch_flags::transactional) || (entry.flags & fmt_::batch_flags::control)) return false;
  auto it = by_producer_.find(entry.producer_id);
  if (it == by_producer_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const range& r) {
    return entry.first_offset >= r.first && entry.first_offset <= r.last;
  });
}

// ---- decisions ----------------------------------------------------------------------------

std::string_view to_string(fate_reason r) noexcept {
  switch (r) {
    case fate_reason::none: return "none";
    case fate_reason::control: return "control batch";
    case fate_reason::aborted: return "aborted transaction";
    case fate_reason::empty: return "empty batch";
    case fate_reason::before_start: return "already restored";
    case fate_reason::outside_window: return "outside the time window";
    case fate_reason::compaction_gap: return "compaction gap";
    case fate_reason::window_cut: return "cut by the time window";
    case fate_reason::legacy: return "legacy message format";
    case fate_reason::log_append_time: return "LogAppendTime batch";
    case fate_reason::too_large: return "larger than max.message.bytes";
  }
  return "unknown";
}

index_verdict judge_entry(const fmt_::batch_entry& e, bool txn_dropped, const rewrite_options& o) {
  using F = batch_fate;
  using R = fate_reason;
  if (e.flags & fmt_::batch_flags::control) return {F::drop, R::control, false};
  if (txn_dropped) return {F::drop, R::aborted, false};
  if (e.record_count <= 0) return {F::drop, R::empty, false};
  if (e.last_offset < o.min_offset) return {F::drop, R::before_start, false};
  // Legacy entries carry no timestamps in the index (v1 keeps them per message): decode them.
  if (e.flags & fmt_::batch_flags::legacy) return {F::reencode, R::legacy, false};
  if (o.window.start && e.max_timestamp < *o.window.start) return {F::drop, R::outside_window, false};
  if (e.flags & fmt_::batch_flags::log_append_time) return {F::reencode, R::log_append_time, false};
  if (e.first_offset < o.min_offset) return {F::reencode, R::before_start, false};
  if (static_cast<std::int64_t>(e.record_count) != e.last_offset - e.first_offset + 1)
    return {F::reencode, R::compaction_gap, false};
  if (o.window.end && e.max_timestamp > *o.window.end) return {F::reencode, R::window_cut, false};
  if (o.window.start && e.first_timestamp < *o.window.start) return {F::reencode, R::window_cut, false};
  if (e.size > o.max_batch_bytes) return {F::reencode, R::too_large, false};
  // Timestamp deltas may be negative, so only the records themselves prove the window start.
  return {F::pass_through, R::none, o.window.start.has_value()};
}

namespace {

void count(rewrite_stats* s, batch_fate f, fate_reason r) {
  if (s == nullptr) return;
  ++s->batches_in;
  if (f == batch_fate::drop) ++s->dropped;
  if (f == batch_fate::pass_through) ++s->passed;
  if (f == batch_fate::reencode) ++s->reencoded;
  if (r != fate_reason::none) ++s->reasons[r];
}

std::vector<source_run> runs_of(std::span<const std::int64_t> offsets) {
  std::vector<source_run> runs;
  for (std::int64_t off : offsets) {
    if (!runs.empty() && runs.back().first + runs.back().count == off) {
      ++runs.back().count;
    } else {
      runs.push_back({off, 1});
    }
  }
  return runs;
}

// Encodes `records` into one or more batches no larger than max_bytes (halving on overflow).
kb::result<void> encode_records(std::span<const protocol::record* const> records,
                                std::span<const std::int64_t> offsets, compression_codec codec,
                                std::size_t max_bytes, std::vector<output_batch>& out) {
  if (records.empty()) return {};
  protocol::batch_options bo;
  bo.codec = codec;
  protocol::record_batch_builder builder(bo);
  for (const auto* r : records) builder.add(r->timestamp, r->key, r->value, r->headers);
  auto built = builder.build();
  if (!built) return fail(built.error());
  if (built->size() > max_bytes) {
    if (records.size() == 1) {
      return fail(errc::invalid_argument,
                  fmt::format("the record at source offset {} needs a {}-byte batch, more than the target "
                              "topic's max.message.bytes ({}): raise max.message.bytes on the target topic",
                              offsets.front(), built->size(), max_bytes));
    }
    const std::size_t half = records.size() / 2;
    if (auto r = encode_records(records.first(half), offsets.first(half), codec, max_bytes, out); !r) return r;
    return encode_records(records.subspan(half), offsets.subspan(half), codec, max_bytes, out);
  }
  output_batch ob;
  ob.size = built->size();
  ob.storage = std::make_shared<byte_vector>(std::move(*built));
  ob.record_count = static_cast<std::int32_t>(records.size());
  ob.sources = runs_of(offsets);
  ob.reencoded = true;
  out.push_back(std::move(ob));
  return {};
}

// Splits by uncompressed size first (cheap), then encode_records halves what is still too big.
kb::result<void> encode_chunked(const std::vector<const protocol::record*>& recs,
                                const std::vector<std::int64_t>& offsets, compression_codec codec,
                                std::size_t max_bytes, std::vector<output_batch>& out) {
  const std::size_t budget = max_bytes > 256 ? max_bytes - 128 : max_bytes;
  std::size_t start = 0;
  std::size_t bytes = protocol::batch_header_size;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    std::size_t sz = 24 + (recs[i]->key ? recs[i]->key->size() : 0) + (recs[i]->value ? recs[i]->value->size() : 0);
    for (const auto& h : recs[i]->headers) sz += 10 + h.key.size() + (h.value ? h.value->size() : 0);
    if (i > start && bytes + sz > budget) {
      auto r = encode_records(std::span(recs).subspan(start, i - start), std::span(offsets).subspan(start, i - start),
                              codec, max_bytes, out);
      if (!r) return r;
      start = i;
      bytes = protocol::batch_header_size;
    }
    bytes += sz;
  }
  return encode_records(std::span(recs).subspan(start), std::span(offsets).subspan(start), codec, max_bytes, out);
}

kb::result<compression_codec> codec_of(byte_view batch, bool legacy) {
  if (batch.size() <= protocol::batch_attributes_offset + 1) return fail(errc::corrupt, "batch shorter than its header");
  // v2: int16 attributes at 21..22 (codec in the low byte); v0/v1: int8 attributes at 17,
  // right after the magic byte (offset 8, size 4, crc 4, magic 1).
  const int id = legacy ? (batch[protocol::batch_magic_offset + 1] & 0x07)
                        : (batch[protocol::batch_attributes_offset + 1] & 0x07);
  return protocol::codec_from_id(id);
}

}  // namespace

kb::result<void> rewrite_batch(const std::shared_ptr<byte_vector>& frame, const fmt_::batch_entry& entry,
                               bool txn_dropped, const rewrite_options& options, std::vector<output_batch>& out,
                               rewrite_stats* stats) {
  auto verdict = judge_entry(entry, txn_dropped, options);
  if (verdict.fate == batch_fate::drop) {
    count(stats, verdict.fate, verdict.reason);
    return {};
  }
  if (static_cast<std::uint64_t>(entry.position) + entry.size > frame->size() || entry.size == 0) {
    return fail(errc::corrupt, fmt::format("the index places the batch at offset {} outside its frame ({} + {} > {})",
                                           entry.first_offset, entry.position, entry.size, frame->size()));
  }
  const byte_view bytes(frame->data() + entry.position, entry.size);
  const bool legacy = (entry.flags & fmt_::batch_flags::legacy) != 0;
  if (auto crc = protocol::check_batch_crc(bytes); !crc) {
    return fail(errc::corrupt, fmt::format("stored batch at offset {}: {}", entry.first_offset, crc.error().message));
  }
  if (!legacy) {
    auto h = protocol::record_batch_header::parse(bytes);
    if (!h) return fail(errc::corrupt, fmt::format("stored batch at offset {}: {}", entry.first_offset, h.error().message));
    if (h->base_offset() != entry.first_offset || h->last_offset() != entry.last_offset ||
        h->total_size() != entry.size) {
      return fail(errc::corrupt, fmt::format("stored batch at offset {} does not match its index entry "
                                             "(header says offsets {}..{}, {} bytes)",
                                             entry.first_offset, h->base_offset(), h->last_offset(), h->total_size()));
    }
  }

  std::optional<protocol::record_set> decoded;
  auto decode = [&]() -> kb::result<void> {
    auto set = protocol::read_records(shared_bytes(byte_vector(bytes.begin(), bytes.end())));
    if (!set) {
      return fail(errc::corrupt,
                  fmt::format("stored batch at offset {} does not decode: {}", entry.first_offset, set.error().message));
    }
    decoded = std::move(*set);
    return {};
  };

  if (verdict.fate == batch_fate::pass_through && verdict.must_inspect) {
    if (auto r = decode(); !r) return r;
    const bool inside = std::all_of(decoded->begin(), decoded->end(),
                                    [&](const protocol::record& r) { return options.window.contains(r.timestamp); });
    if (!inside) verdict = {batch_fate::reencode, fate_reason::window_cut, false};
  }
  if (verdict.fate == batch_fate::pass_through) {
    count(stats, verdict.fate, verdict.reason);
    output_batch ob;
    ob.storage = frame;
    ob.offset = entry.position;
    ob.size = entry.size;
    ob.record_count = entry.record_count;
    ob.sources = {{entry.first_offset, entry.record_count}};
    if (stats) stats->records_out += static_cast<std::uint64_t>(entry.record_count);
    out.push_back(std::move(ob));
    return {};
  }

  // Re-encode: keep the records in window and not yet restored, same codec, offsets 0..n-1.
  if (!decoded) {
    if (auto r = decode(); !r) return r;
  }
  auto codec = codec_of(bytes, legacy);
  if (!codec) return fail(errc::corrupt, fmt::format("stored batch at offset {}: {}", entry.first_offset, codec.error().message));
  std::vector<const protocol::record*> keep;
  std::vector<std::int64_t> offsets;
  keep.reserve(decoded->size());
  offsets.reserve(decoded->size());
  for (const auto& r : *decoded) {
    if (r.offset < options.min_offset || !options.window.contains(r.timestamp)) {
      if (stats) ++stats->records_filtered;
      continue;
    }
    keep.push_back(&r);
    offsets.push_back(r.offset);
  }
  if (keep.empty()) {
    count(stats, batch_fate::drop, verdict.reason);
    return {};
  }
  count(stats, verdict.fate, verdict.reason);
  if (stats) stats->records_out += keep.size();
  return encode_chunked(keep, offsets, *codec, options.max_batch_bytes, out);
}

kb::result<void> stamp_producer(const output_batch& batch, std::int64_t producer_id, std::int16_t producer_epoch,
                                std::int32_t base_sequence) {
  protocol::batch_header_patch patch;
  patch.base_offset = 0;
  patch.partition_leader_epoch = -1;
  patch.producer_id = producer_id;
  patch.producer_epoch = producer_epoch;
  patch.base_sequence = base_sequence;
  patch.transactional = false;
  patch.has_delete_horizon = false;
  return protocol::patch_batch_header(batch.bytes(), patch);
}

kb::result<std::vector<output_batch>> resplit_batch(const output_batch& batch, std::size_t max_bytes) {
  const byte_view bytes = batch.bytes();
  auto set = protocol::read_records(shared_bytes(byte_vector(bytes.begin(), bytes.end())));
  if (!set) return fail(errc::corrupt, "a batch prepared for the target does not decode: " + set.error().message);
  auto codec = codec_of(bytes, false);
  if (!codec) return fail(codec.error());
  std::vector<std::int64_t> offsets;
  for (const auto& run : batch.sources)
    for (std::int32_t i = 0; i < run.count; ++i) offsets.push_back(run.first + i);
  if (offsets.size() != set->size()) return fail(errc::internal, "batch record count differs from its source runs");
  std::vector<const protocol::record*> recs;
  for (const auto& r : *set) recs.push_back(&r);
  std::vector<output_batch> out;
  if (auto r = encode_chunked(recs, offsets, *codec, max_bytes, out); !r) return fail(r.error());
  return out;
}

kb::result<std::optional<output_batch>> drop_leading_records(const output_batch& batch, std::int32_t skip) {
  if (skip <= 0) return std::optional<output_batch>(batch);
  if (skip >= batch.record_count) return std::optional<output_batch>();
  const byte_view bytes = batch.bytes();
  auto set = protocol::read_records(shared_bytes(byte_vector(bytes.begin(), bytes.end())));
  if (!set) return fail(errc::corrupt, "a batch prepared for the target does not decode: " + set.error().message);
  auto codec = codec_of(bytes, false);
  if (!codec) return fail(codec.error());
  std::vector<std::int64_t> all;
  for (const auto& run : batch.sources)
    for (std::int32_t i = 0; i < run.count; ++i) all.push_back(run.first + i);
  if (all.size() != set->size()) return fail(errc::internal, "batch record count differs from its source runs");
  std::vector<const protocol::record*> keep;
  std::vector<std::int64_t> offsets;
  for (std::size_t i = static_cast<std::size_t>(skip); i < set->size(); ++i) {
    keep.push_back(&(*set)[i]);
    offsets.push_back(all[i]);
  }
  std::vector<output_batch> out;
  if (auto r = encode_records(keep, offsets, *codec, std::numeric_limits<std::size_t>::max(), out); !r) {
    return fail(r.error());
  }
  return std::optional<output_batch>(std::move(out.front()));
}

merge_limits merge_limits_for(std::size_t max_batch, std::uint64_t records_per_sec,
                              std::uint64_t bytes_per_sec) noexcept {
  // A megabyte is past the point where the broker's per-batch work matters; stay under the target's
  // limit with room for the varints that grow when offset and timestamp deltas span more records.
  constexpr std::size_t megabyte = std::size_t{1} << 20;
  constexpr std::size_t room = 4096;  // below the target's limit
  merge_limits l;
  l.bytes = std::min(megabyte, max_batch > 4 * room ? max_batch - room : max_batch / 2);
  if (bytes_per_sec > 0) l.bytes = std::min<std::size_t>(l.bytes, bytes_per_sec / 4);
  if (records_per_sec > 0) l.records = static_cast<std::int64_t>(std::max<std::uint64_t>(1, records_per_sec / 4));
  return l;
}

namespace {

bool mergeable(const output_batch& b, std::size_t limit) {
  if (b.size > limit / 2 || b.record_count <= 0) return false;
  auto h = protocol::record_batch_header::parse(b.bytes());
  if (!h) return false;  // left to the producer's own checks, as before
  return h->codec() == compression_codec::none && h->ts_type() == protocol::timestamp_type::create_time &&
         !h->is_control() && !h->has_delete_horizon();
}

kb::result<void> merge_run(std::span<output_batch> run, std::size_t limit, std::vector<output_batch>& out) {
  std::vector<protocol::record_set> sets;
  sets.reserve(run.size());
  std::vector<const protocol::record*> recs;
  std::vector<std::int64_t> offsets;
  for (const auto& b : run) {
    const byte_view bytes = b.bytes();
    // Every batch here was CRC-checked by rewrite_batch as it came out of its frame, or was just
    // encoded there: reading it again checks nothing new.
    auto set = protocol::read_records(shared_bytes(byte_vector(bytes.begin(), bytes.end())), {.verify_crc = false});
    if (!set) return fail(errc::corrupt, "a batch prepared for the target does not decode: " + set.error().message);
    for (const auto& src : b.sources)
      for (std::int32_t i = 0; i < src.count; ++i) offsets.push_back(src.first + i);
    sets.push_back(std::move(*set));
    for (const auto& r : sets.back()) recs.push_back(&r);
    if (offsets.size() != recs.size()) return fail(errc::internal, "batch record count differs from its source runs");
  }
  // The group's stored sizes add up to at most `limit`; should the merged batch still be larger
  // (deltas needing longer varints), it is halved: two large batches, never a small tail.
  return encode_records(recs, offsets, compression_codec::none, limit, out);
}

}  // namespace

kb::result<void> merge_small_batches(std::vector<output_batch>& batches, const merge_limits& limits,
                                     rewrite_stats* stats) {
  const std::size_t limit = limits.bytes;
  std::vector<output_batch> out;
  out.reserve(batches.size());
  std::vector<const byte_vector*> released;  // the storage of batches merged into new ones
  std::size_t i = 0;
  while (i < batches.size()) {
    std::size_t j = i;
    std::size_t bytes = 0;
    std::int64_t records = 0;
    while (j < batches.size() && mergeable(batches[j], limit) && bytes + batches[j].size <= limit &&
           records + batches[j].record_count <= limits.records) {
      bytes += batches[j].size;
      records += batches[j].record_count;
      ++j;
    }
    if (j - i < 2) {  // nothing to merge with: the batch goes on as it is
      out.push_back(std::move(batches[i]));
      ++i;
      continue;
    }
    const std::size_t before = out.size();
    for (std::size_t k = i; k < j; ++k) released.push_back(batches[k].storage.get());
    if (auto r = merge_run(std::span(batches).subspan(i, j - i), limit, out); !r) return r;
    if (stats != nullptr) {
      stats->merged_in += j - i;
      stats->merged_out += out.size() - before;
    }
    i = j;
  }
  // A batch left as it was shares its frame's bytes with those merged away: it would keep the whole
  // frame until acknowledged while the memory budget counts its own bytes only. It gets its own copy.
  for (auto& b : out) {
    if (b.reencoded || std::find(released.begin(), released.end(), b.storage.get()) == released.end()) continue;
    b.storage = std::make_shared<byte_vector>(b.bytes().begin(), b.bytes().end());
    b.offset = 0;
  }
  batches = std::move(out);
  return {};
}

}  // namespace kb::pipeline::restore
