// Offset-map ranges, and the restore state as compact JSON (ranges as [source, target, count] triples).
#include "pipeline/restore/offset_map.hpp"

#include <algorithm>

#include <boost/describe/class.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include "storage/format/json_map.hpp"

namespace kb::pipeline::restore {

namespace json = boost::json;

kb::result<void> offset_map::add(std::int64_t source_first, std::int64_t target_first, std::int64_t count) {
  if (count <= 0) return {};
  if (!ranges_.empty()) {
    auto& last = ranges_.back();
    if (source_first < last.source_first + last.count) {
      return fail(errc::internal, fmt::format("offset map: source offset {} added after {}", source_first,
                                              last.source_first + last.count - 1));
    }
    if (source_first == last.source_first + last.count && target_first == last.target_first + last.count) {
      last.count += count;
      return {};
    }
  }
  ranges_.push_back({source_first, target_first, count});
  return {};
}

std::optional<std::int64_t> offset_map::translate(std::int64_t source_offset) const {
  if (ranges_.empty()) return std::nullopt;
  // First range that ends after source_offset.
  auto it = std::partition_point(ranges_.begin(), ranges_.end(), [&](const offset_range& r) {
    return r.source_first + r.count <= source_offset;
  });
  if (it == ranges_.end()) return ranges_.back().target_first + ranges_.back().count;
  if (source_offset >= it->source_first) return it->target_first + (source_offset - it->source_first);
  return it->target_first;
}

std::int64_t offset_map::records() const noexcept {
  std::int64_t n = 0;
  for (const auto& r : ranges_) n += r.count;
  return n;
}

// The state as JSON (storage/format/json_map.hpp): restore_state maps 1:1; a partition keeps its
// offset map as "ranges" of [source, target, count] triples and the producer trio only once it has
// a producer.
using json_map::tag_invoke;

BOOST_DESCRIBE_STRUCT(restore_state, (), (restore_id, backup_id, updated_ms, partitions))

static void tag_invoke(json::value_from_tag /*tag*/, json::value& v, const offset_range& r) {
  v = json::array{r.source_first, r.target_first, r.count};
}

static offset_range tag_invoke(json::value_to_tag<offset_range> /*tag*/, const json::value& v) {
  const auto n = json_map::read<std::vector<std::int64_t>>(v);
  if (n.size() != 3) throw json_map::bad_field(fmt::format("holds {} numbers, not [source, target, count]", n.size()));
  return {n[0], n[1], n[2]};
}

static void tag_invoke(json::value_from_tag /*tag*/, json::value& v, const partition_state& p) {
  auto& o = v.emplace_object();
  o["source_topic"] = p.source_topic;
  o["source_partition"] = p.source_partition;
  o["target_topic"] = p.target_topic;
  o["target_partition"] = p.target_partition;
  if (!p.target_topic_id.empty()) o["target_topic_id"] = p.target_topic_id;
  o["next_source_offset"] = p.next_source_offset;
  o["target_end"] = p.target_end;
  o["records"] = p.records;
  o["bytes"] = p.bytes;
  o["done"] = p.done;
  if (p.producer_id >= 0) {
    o["producer_id"] = p.producer_id;
    o["producer_epoch"] = p.producer_epoch;
    o["sequence_origin"] = p.sequence_origin;
  }
  o["ranges"] = json::value_from(p.map.ranges());
}

static partition_state tag_invoke(json::value_to_tag<partition_state> /*tag*/, const json::value& v) {
  const json_map::object_reader r(v);
  partition_state p;
  r.required("source_topic", p.source_topic);
  r.required("source_partition", p.source_partition);
  r.required("target_topic", p.target_topic);
  r.required("target_partition", p.target_partition);
  r.optional("target_topic_id", p.target_topic_id);
  r.required("next_source_offset", p.next_source_offset);
  r.required("target_end", p.target_end);
  r.required("records", p.records);
  r.required("bytes", p.bytes);
  r.required("done", p.done);
  if (r.contains("producer_id")) {  // absent in states written before it was kept
    r.required("producer_id", p.producer_id);
    r.required("producer_epoch", p.producer_epoch);
    r.required("sequence_origin", p.sequence_origin);
  }
  std::vector<offset_range> ranges;
  r.required("ranges", ranges);
  p.map.assign(std::move(ranges));
  return p;
}

std::string to_json(const restore_state& state) { return json::serialize(json::value_from(state)); }

kb::result<restore_state> parse_restore_state(std::string_view text) {
  return json_map::read_document<restore_state>(text, "restore state");
}

}  // namespace kb::pipeline::restore
