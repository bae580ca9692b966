#include "pipeline/backup/segment_uploader.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>

#include "base/log.hpp"
#include "pipeline/backup/resume.hpp"
#include "pipeline/frame_filters.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::backup {

namespace asio = boost::asio;
namespace sf = storage::format;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

sf::partition_checkpoint checkpoint_after(const sf::partition_checkpoint& c, const net::topic_partition& tp,
                                          const open_segment& seg, std::int64_t first, std::int64_t last,
                                          const std::string& key) {
  sf::partition_checkpoint next = c;
  next.topic = tp.topic;
  next.partition = tp.partition;
  next.next_offset = last + 1;
  next.last_segment = key;
  next.segments += 1;
  next.records += seg.records;
  next.bytes_raw += seg.raw_bytes;
  if (next.first_offset < 0) next.first_offset = first;
  if (seg.min_ts >= 0 && (next.min_timestamp < 0 || seg.min_ts < next.min_timestamp)) next.min_timestamp = seg.min_ts;
  next.max_timestamp = std::max(next.max_timestamp, seg.max_ts);
  for (const auto& g : seg.gaps) add_gap(next.gaps, g);
  return next;
}

result<void> write_segment(storage::commit_group& group, const std::string& key,
                           const sf::segment_builder::parts& pieces) {
  std::vector<byte_view> body;
  body.reserve(pieces.frames.size() + 2);
  body.emplace_back(pieces.head);
  for (const auto& f : pieces.frames) body.emplace_back(f);
  body.emplace_back(pieces.tail);
  return group.put(key, storage::byte_pieces(body));
}

result<void> write_segment(storage::object_store& store, const std::string& key,
                           const sf::segment_builder::parts& pieces) {
  auto group = store.open_commit_group();
  if (auto r = write_segment(*group, key, pieces); !r) return r;
  return group->sync();
}

segment_uploader::segment_uploader(asio::io_context& io, storage::object_store& store, const sf::backup_paths& paths,
                                   memory_budget& budget, partition_map& parts, stats& totals, options o, hooks h)
    : io_(io),
      store_(store),
      paths_(paths),
      budget_(budget),
      parts_(parts),
      totals_(totals),
      opts_(o),
      hooks_(std::move(h)),
      compress_pool_(std::make_unique<worker_pool>(std::max<std::size_t>(1, o.compression_threads))),
      upload_pool_(std::make_unique<worker_pool>(std::max<std::size_t>(1, o.upload_threads))) {}

segment_uploader::~segment_uploader() { shutdown(); }

void segment_uploader::shutdown() {
  compress_pool_->shutdown();
  upload_pool_->shutdown();
}

open_segment& segment_uploader::current(partition_state& ps) {
  if (!ps.cur) {
    sf::segment_builder::options o;
    o.header.topic = ps.tp.topic;
    o.header.partition = ps.tp.partition;
    o.header.codec = opts_.codec;
    o.header.filter = frame_filter_for(opts_.codec);
    o.header.created_ms = now_ms();
    o.compression_level = opts_.compression_level;
    o.frame_target_bytes = frame_target_bytes_for(opts_.codec);
    ps.cur = std::make_shared<open_segment>(std::move(o));
  }
  return *ps.cur;
}

void segment_uploader::submit_compress(partition_state& ps, const std::shared_ptr<open_segment>& seg,
                                       sf::segment_builder::raw_frame f) {
  if (seg->compressed.size() <= f.frame) seg->compressed.resize(f.frame + 1);
  if (opts_.codec == sf::frame_codec::none) {
    // Stored as is: the raw frame is the stored frame (no copy, no trip through the pool).
    seg->compressed[f.frame] = std::move(f.raw);
    return;
  }
  ++seg->outstanding;
  const auto tp = ps.tp;
  compress_pool_->submit([this, seg, tp, f = std::move(f), codec = opts_.codec, level = opts_.compression_level,
                          filter = seg->builder.opts().header.filter]() mutable {
    auto out = sf::encode_frame(codec, level, f.raw, filter);
    f.raw = byte_vector{};
    asio::post(io_, [this, seg, tp, frame = f.frame, out = std::move(out)]() mutable {
      --seg->outstanding;
      if (!out) {
        hooks_.on_error(std::move(out.error()));
        return;
      }
      seg->compressed[frame] = std::move(*out);
      auto it = parts_.find(tp);
      if (it != parts_.end()) try_start(it->second);
    });
  });
}

void segment_uploader::close(partition_state& ps) {
  if (!ps.cur) return;
  auto seg = std::move(ps.cur);
  ps.cur.reset();
  if (seg->builder.empty()) {
    budget_.release(seg->charged);
    return;
  }
  for (const auto& span : ps.txns.open_spans()) seg->builder.add_txn_span(span);
  if (auto f = seg->builder.seal_frame()) submit_compress(ps, seg, std::move(*f));
  seg->closing = true;
  ps.closing.push_back(std::move(seg));
  try_start(ps);
}

void segment_uploader::close_older_than(std::chrono::steady_clock::time_point opened_before) {
  for (auto& [tp, ps] : parts_)
    if (ps.cur && !ps.cur->builder.empty() && ps.cur->opened <= opened_before) close(ps);
}

void segment_uploader::try_start(partition_state& ps) {
  if (hooks_.failed() || ps.uploading || ps.closing.empty()) return;
  auto seg = ps.closing.front();
  if (!seg->closing || seg->outstanding != 0) return;
  // Every store takes the segment as pieces (object_store::put of pieces): no assembled copy
  // to charge, the frames already are.
  ps.closing.pop_front();
  ps.uploading = true;
  ++uploads_in_flight_;
  std::vector<byte_vector> frames;
  frames.reserve(seg->compressed.size());
  for (auto& c : seg->compressed) frames.push_back(c ? std::move(*c) : byte_vector{});
  seg->compressed.clear();
  const std::int64_t first = seg->builder.first_offset();
  const std::int64_t last = seg->builder.last_offset();
  seg->raw_bytes = seg->builder.raw_bytes();
  const std::string key = paths_.segment(ps.tp.topic, ps.tp.partition, first, last);
  const std::string ckey = paths_.checkpoint(ps.tp.topic, ps.tp.partition);
  sf::partition_checkpoint next = checkpoint_after(ps.checkpoint, ps.tp, *seg, first, last, key);
  ready_.push_back({seg, ps.tp, key, ckey, std::move(next), std::move(frames)});
  if (!dispatch_posted_) {
    dispatch_posted_ = true;
    asio::post(io_, [this] { dispatch(); });
  }
}

void segment_uploader::dispatch() {
  dispatch_posted_ = false;
  if (store_.groups_commits()) {
    // Group commit: while every upload thread has a group, the segments made ready meanwhile
    // wait and form the next, larger group (one sync pair for all of them).
    while (!ready_.empty() && groups_in_flight_ < std::max<std::size_t>(1, opts_.upload_threads)) {
      const std::size_t n = std::min(ready_.size(), max_segments_per_group);
      std::vector<upload_item> items(std::make_move_iterator(ready_.begin()),
                                     std::make_move_iterator(ready_.begin() + static_cast<std::ptrdiff_t>(n)));
      ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(n));
      submit_group(std::move(items));
    }
    return;
  }
  // A store without grouping writes each segment on its own, in parallel on the pool (S3).
  for (auto& item : ready_) {
    std::vector<upload_item> one;
    one.push_back(std::move(item));
    submit_group(std::move(one));
  }
  ready_.clear();
}

void segment_uploader::submit_group(std::vector<upload_item> items) {
  ++groups_in_flight_;
  upload_pool_->submit([this, items = std::move(items)]() mutable {
    auto results = write_group(items);
    asio::post(io_, [this, items = std::move(items), results = std::move(results)]() mutable {
      --groups_in_flight_;
      for (std::size_t i = 0; i < items.size(); ++i) upload_done(items[i].tp, *items[i].seg, std::move(results[i]));
      if (!ready_.empty() && !dispatch_posted_) dispatch();
    });
  });
}

std::vector<segment_uploader::upload_result> segment_uploader::write_group(std::vector<upload_item>& items) {
  std::vector<upload_result> res(items.size());
  auto group = store_.open_commit_group();
  auto run = [&]() -> result<void> {
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto& it = items[i];
      auto pieces = std::move(it.seg->builder).finish_parts(std::move(it.frames));
      if (!pieces) return fail(std::move(pieces.error()));
      res[i].stored = pieces->size();
      if (auto r = write_segment(*group, it.key, *pieces); !r) return r;
      // Uncompressed frames were the open frames' buffers: hand them back for reuse.
      if (opts_.codec == sf::frame_codec::none) res[i].spare_frames = std::move(pieces->frames);
      pieces->frames.clear();
    }
    if (auto r = group->sync(); !r) return r;
    // Invariant 2: a checkpoint is written only once the sync above made its segment durable.
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto& it = items[i];
      it.next.bytes_stored += res[i].stored;
      it.next.updated_ms = now_ms();
      if (opts_.keep_newer_checkpoint && stored_checkpoint_is_ahead(it)) continue;
      if (auto r = group->put(it.checkpoint_key, as_bytes(sf::to_json(it.next))); !r) return r;
    }
    return group->sync();
  };
  const auto outcome = run();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (outcome) {
      res[i].checkpoint = items[i].next;
    } else {
      res[i].checkpoint = tl::unexpected(outcome.error());
    }
  }
  return res;
}

bool segment_uploader::stored_checkpoint_is_ahead(const upload_item& it) {
  auto text = store_.get(it.checkpoint_key);
  if (!text) return false;
  auto stored = sf::parse_checkpoint(as_text(*text));
  if (!stored || stored->next_offset <= it.next.next_offset) return false;
  log::warn("backup: {} already records next offset {} (another worker owns {}-{} now); {} stays stored but the "
            "checkpoint is not moved back to {}",
            it.checkpoint_key, stored->next_offset, it.tp.topic, it.tp.partition, it.key, it.next.next_offset);
  return true;
}

void segment_uploader::upload_done(const net::topic_partition& tp, open_segment& seg, upload_result res) {
  --uploads_in_flight_;
  budget_.release(seg.charged);
  seg.charged = 0;
  if (auto cur = parts_.find(tp); cur != parts_.end() && cur->second.cur)
    for (auto& f : res.spare_frames) cur->second.cur->builder.recycle_frame(std::move(f));
  res.spare_frames.clear();
  // The segment's buffers are free now; now and then hand their pages back (rate-limited:
  // each returned page costs a fault when the next frame reuses it).
  return_free_memory();
  auto it = parts_.find(tp);
  if (it == parts_.end()) return;
  auto& ps = it->second;
  ps.uploading = false;
  if (!res.checkpoint) {
    hooks_.on_error(std::move(res.checkpoint.error()));
    return;
  }
  ps.checkpoint = std::move(*res.checkpoint);
  ps.has_checkpoint = true;
  totals_.segments += 1;
  totals_.records += seg.records;
  totals_.batches += seg.batches;
  totals_.bytes_raw += seg.raw_bytes;
  totals_.bytes_stored += res.stored;
  log::debug("backup: {} durable, next offset {}", ps.checkpoint.last_segment, ps.checkpoint.next_offset);
  try_start(ps);
  hooks_.poke();
}

}  // namespace kb::pipeline::backup
