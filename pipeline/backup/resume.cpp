#include "pipeline/backup/resume.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "base/log.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::backup {

namespace sf = storage::format;

void add_gap(std::vector<sf::offset_gap>& gaps, const sf::offset_gap& g) {
  for (auto& have : gaps) {
    if (g.first_offset <= have.last_offset && have.first_offset <= g.last_offset) {
      have.first_offset = std::min(have.first_offset, g.first_offset);
      have.last_offset = std::max(have.last_offset, g.last_offset);
      return;
    }
  }
  gaps.push_back(g);
}

void apply_segment(sf::partition_checkpoint& c, const sf::segment_index& idx, const std::string& key,
                   std::uint64_t stored) {
  c.next_offset = idx.last_offset() + 1;
  c.last_segment = key;
  c.segments += 1;
  c.records += idx.record_count();
  c.bytes_raw += idx.raw_bytes();
  c.bytes_stored += stored;
  if (c.first_offset < 0) c.first_offset = idx.first_offset();
  for (const auto& f : idx.frames) {
    if (f.min_timestamp >= 0 && (c.min_timestamp < 0 || f.min_timestamp < c.min_timestamp))
      c.min_timestamp = f.min_timestamp;
    c.max_timestamp = std::max(c.max_timestamp, f.max_timestamp);
  }
  for (const auto& g : idx.gaps) add_gap(c.gaps, g);
}

resume_plan plan_resume(std::optional<sf::partition_checkpoint> checkpoint, const std::string& topic,
                        std::int32_t partition, const std::vector<stored_object>& listing,
                        const index_reader& read_index) {
  resume_plan plan;
  if (checkpoint) {
    plan.checkpoint = std::move(*checkpoint);
    plan.has_checkpoint = true;
  } else {
    plan.checkpoint.topic = topic;
    plan.checkpoint.partition = partition;
  }
  auto& c = plan.checkpoint;
  for (const auto& obj : listing) {
    const auto slash = obj.key.rfind('/');
    const auto name = std::string_view(obj.key).substr(slash == std::string::npos ? 0 : slash + 1);
    const auto range = sf::parse_segment_file_name(name);
    if (!range) continue;
    if (plan.has_checkpoint && range->second < c.next_offset) continue;  // covered by the checkpoint
    // Without a checkpoint the first segment starts the chain; after that each must continue it.
    const bool chains = plan.has_checkpoint ? range->first == c.next_offset : plan.adopted.empty();
    if (!chains) {
      plan.removals.push_back({obj.key, fmt::format("not checkpointed and does not follow offset {}", c.next_offset)});
      continue;
    }
    auto idx = read_index(obj.key, obj.size);
    if (idx && idx->first_offset() == range->first && idx->last_offset() == range->second) {
      apply_segment(c, *idx, obj.key, idx->file_size);
      plan.has_checkpoint = true;
      plan.adopted.push_back(obj.key);
      continue;
    }
    plan.removals.push_back({obj.key, fmt::format("not checkpointed and its index does not check out ({})",
                                                  idx ? "offsets differ from its name" : idx.error().message)});
  }
  return plan;
}

result<std::map<std::int32_t, std::vector<stored_object>>> list_topic_partitions(storage::object_store& store,
                                                                                const sf::backup_paths& paths,
                                                                                const std::string& topic) {
  // The topic's folder: where its topic.json lies ("{root}topics/{topic}/").
  std::string dir = paths.topic_manifest(topic);
  dir.resize(dir.rfind('/') + 1);
  auto listing = store.list(dir);
  if (!listing) return fail(std::move(listing.error()));
  std::map<std::int32_t, std::vector<stored_object>> out;
  for (auto& obj : *listing) {
    // "{dir}{partition}/{name}"; topic.json and anything else not in a partition's folder is skipped.
    const std::string_view rest = std::string_view(obj.key).substr(dir.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) continue;
    std::int32_t p = 0;
    const auto digits = rest.substr(0, slash);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
    // Only the number as partition_dir writes it ("7", not "007" or "+7").
    if (ec != std::errc{} || end != digits.data() + digits.size() || p < 0 || std::to_string(p) != digits) continue;
    out[p].push_back({std::move(obj.key), obj.size});
  }
  return out;
}

result<resumed_partition> resume_partition(storage::object_store& store, const sf::backup_paths& paths,
                                           const std::string& topic, std::int32_t partition, std::int64_t now_ms) {
  auto listing = store.list(paths.partition_dir(topic, partition));
  if (!listing) return fail(std::move(listing.error()));
  std::vector<stored_object> objects;
  objects.reserve(listing->size());
  for (const auto& obj : *listing) objects.push_back({obj.key, obj.size});
  return resume_partition(store, paths, topic, partition, now_ms, objects);
}

result<resumed_partition> resume_partition(storage::object_store& store, const sf::backup_paths& paths,
                                           const std::string& topic, std::int32_t partition, std::int64_t now_ms,
                                           const std::vector<stored_object>& objects) {
  const auto ckey = paths.checkpoint(topic, partition);
  std::optional<sf::partition_checkpoint> checkpoint;
  // A checkpoint the listing does not hold is not read: a new partition costs no failed request.
  const bool listed = std::any_of(objects.begin(), objects.end(), [&](const stored_object& o) { return o.key == ckey; });
  if (listed) {
    auto text = store.get(ckey);
    if (text) {
      auto c = sf::parse_checkpoint(as_text(*text));
      if (!c) return fail(c.error().code, fmt::format("{} in {}", c.error().message, ckey));
      checkpoint = std::move(*c);
    } else if (!text.error().is(errc::not_found)) {
      return fail(std::move(text.error()));
    }
  }
  auto plan = plan_resume(std::move(checkpoint), topic, partition, objects,
                          [&store](const std::string& key, std::uint64_t size) {
                            return sf::read_segment_index(store, key, size);
                          });
  for (const auto& key : plan.adopted)
    log::info("backup: adopting {} (uploaded before a crash, not yet checkpointed)", key);
  for (const auto& r : plan.removals) {
    log::warn("backup: removing {}: {}", r.key, r.why);
    if (auto rm = store.remove(r.key); !rm) return fail(std::move(rm.error()));
  }
  if (!plan.adopted.empty()) {
    plan.checkpoint.updated_ms = now_ms;
    if (auto r = store.put(ckey, as_bytes(sf::to_json(plan.checkpoint))); !r) return fail(std::move(r.error()));
  }
  resumed_partition out{std::move(plan.checkpoint), plan.has_checkpoint, {}};
  if (out.has_checkpoint && !out.checkpoint.last_segment.empty()) {
    auto idx = sf::read_segment_index(store, out.checkpoint.last_segment);
    if (idx) out.open_txns = std::move(idx->txns);
    else log::warn("backup: cannot read the index of {} ({}); open transactions there are not carried on",
                   out.checkpoint.last_segment, idx.error().message);
  }
  return out;
}

}  // namespace kb::pipeline::backup
