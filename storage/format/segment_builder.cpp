// Builds one `.kbs` segment in memory (docs/format.md): batches into frames, then header,
// frames, index and trailer with their checksums.
#include "storage/format/segment_builder.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>  // XXH3 calls use the widest vector unit the CPU has (AVX2, AVX-512)
#endif

#include "storage/format/segment_index_codec.hpp"
#include "storage/format/segment_layout.hpp"

namespace kb::storage::format {

namespace L = layout;
using detail::encode_index;
using detail::widen_frame_times;
using detail::write_header;
using detail::write_trailer;
using detail::xxh3;

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
    // Capped so a huge target does not reserve a huge buffer up front; the pages of the part
    // not written are never touched, so a small partition's frame costs what it holds.
    const std::size_t want = std::min<std::size_t>(
        std::size_t{opts_.frame_target_bytes} + std::min<std::size_t>(opts_.frame_target_bytes, 1u << 20), 64u << 20);
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

  if (opts_.header.codec == frame_codec::none && opts_.header.filter != 0)
    return fail(errc::internal, fmt::format("segment {}/{}: frame filter {} without compression (frames stored as "
                                            "they are cannot be filtered)", opts_.header.topic, opts_.header.partition,
                                            opts_.header.filter));
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
  write_trailer(out.tail, index_offset, index_length, index_sum, XXH3_64bits_digest(state.get()),
                opts_.header.format_version());
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

}  // namespace kb::storage::format
