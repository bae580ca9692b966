// Restore's read side (see reader.hpp).
#include "pipeline/restore/reader.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "base/log.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/format/segment.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::restore {

namespace sf = storage::format;

frame_work read_frame_batches(storage::object_store& store, const planned_partition& p, const planned_segment& seg,
                              std::uint32_t f, std::int64_t next_offset, const time_window& window,
                              std::size_t max_batch, const merge_limits& merge) {
  frame_work w;
  w.next_offset = next_offset;
  auto raw = sf::read_frame(store, seg.key, *seg.index, f);
  if (!raw && raw.error().is(errc::corrupt)) {
    // A frame failing its checksum is read once more: bytes damaged on the way from the store (a
    // faulty link or proxy) read clean the second time; damage at rest fails again (exit 4).
    auto again = sf::read_frame(store, seg.key, *seg.index, f);
    if (again) {
      log::warn("segment {} frame {}: {} on the first read, intact on the second: the bytes were damaged on the "
                "way from the store, not in it; continuing",
                seg.key, f, raw.error().message);
      raw = std::move(again);
    }
  }
  if (!raw) {
    // read_frame's own messages name the segment and frame; a store error may not.
    w.err = raw.error().message.find(seg.key) != std::string::npos
                ? raw.error()
                : error{raw.error().code, fmt::format("segment {} frame {}: {}", seg.key, f, raw.error().message)};
    return w;
  }
  auto frame = std::make_shared<byte_vector>(std::move(*raw));
  const auto& fr = seg.index->frames[f];
  for (std::uint32_t b = fr.first_batch; b < fr.first_batch + fr.batch_count; ++b) {
    const auto& e = seg.index->batches[b];
    // Offsets read already from an overlapping segment (two writers, DESIGN §5 inv. 5), or
    // restored before a resume: the batch is skipped, and is no drop either.
    if (e.last_offset < w.next_offset) continue;
    rewrite_options ro;
    ro.window = window;
    // Records below a log start that fell inside this batch are a recorded gap: skipped.
    ro.min_offset = std::max(w.next_offset, sf::live_first_offset(*seg.index, e));
    ro.max_batch_bytes = max_batch;
    if (auto r = rewrite_batch(frame, e, p.txns->dropped(e), ro, w.outputs, &w.stats); !r) {
      w.err = error{r.error().code,
                    fmt::format("{}[{}] in {}: {}", p.source_topic, p.source_partition, seg.key, r.error().message)};
      return w;
    }
    w.next_offset = std::max(w.next_offset, e.last_offset + 1);
  }
  if (auto r = merge_small_batches(w.outputs, merge, &w.stats); !r) {
    w.err = error{r.error().code,
                  fmt::format("{}[{}] in {}: {}", p.source_topic, p.source_partition, seg.key, r.error().message)};
  }
  return w;
}

namespace {

kb::result<output_batch> built_batch(protocol::record_batch_builder& b, std::int64_t first_source) {
  const auto n = b.count();
  auto built = b.build();
  if (!built) return fail(built.error());
  output_batch x;
  x.record_count = n;
  x.size = built->size();
  x.storage = std::make_shared<byte_vector>(std::move(*built));
  x.sources = {{first_source, n}};
  x.reencoded = true;
  return x;
}

}  // namespace

kb::result<std::map<std::int32_t, std::vector<output_batch>>> route_batches(const std::vector<output_batch>& in,
                                                                            murmur2_partitioner& router,
                                                                            std::size_t max_batch) {
  std::map<std::int32_t, std::vector<output_batch>> out;
  for (const auto& ob : in) {
    auto set = protocol::read_records(shared_bytes(byte_vector(ob.bytes().begin(), ob.bytes().end())));
    if (!set) return fail(errc::corrupt, "repartitioning: " + set.error().message);
    auto hdr = protocol::record_batch_header::parse(ob.bytes());
    if (!hdr) return fail(hdr.error());
    std::map<std::int32_t, protocol::record_batch_builder> builders;
    for (const auto& r : *set) {
      const std::int32_t part = router.choose(r.key);
      auto it = builders.find(part);
      if (it == builders.end()) {
        protocol::batch_options bo;
        bo.codec = hdr->codec();
        it = builders.emplace(part, protocol::record_batch_builder(bo)).first;
      }
      it->second.add(r);
      if (it->second.uncompressed_size() > max_batch / 2) {
        auto x = built_batch(it->second, r.offset);
        if (!x) return fail(std::move(x.error()));
        out[part].push_back(std::move(*x));
      }
    }
    for (auto& [part, b] : builders) {
      if (b.count() == 0) continue;
      auto x = built_batch(b, ob.first_source());
      if (!x) return fail(std::move(x.error()));
      out[part].push_back(std::move(*x));
    }
  }
  return out;
}

std::size_t max_batch_bytes(const restore_plan& plan, const std::set<std::string>& existing,
                            const std::string& target_topic) {
  for (const auto& t : plan.topics) {
    if (t.target != target_topic) continue;
    if (auto it = t.manifest.configs.find("max.message.bytes"); it != t.manifest.configs.end() &&
                                                                !existing.contains(target_topic)) {
      try {
        return static_cast<std::size_t>(std::stoll(it->second));
      } catch (const std::exception&) {
      }
    }
  }
  return 1048588;  // broker default message.max.bytes; MESSAGE_TOO_LARGE splits further
}

}  // namespace kb::pipeline::restore
