// Offset-map ranges and their compact JSON form ([source, target, count] triples).
#include "pipeline/restore/offset_map.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

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

std::string to_json(const restore_state& state) {
  json::object root;
  root["restore_id"] = state.restore_id;
  root["backup_id"] = state.backup_id;
  root["updated_ms"] = state.updated_ms;
  json::array parts;
  for (const auto& p : state.partitions) {
    json::object o;
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
    json::array ranges;
    for (const auto& r : p.map.ranges()) ranges.push_back(json::array{r.source_first, r.target_first, r.count});
    o["ranges"] = std::move(ranges);
    parts.push_back(std::move(o));
  }
  root["partitions"] = std::move(parts);
  return json::serialize(root);
}

namespace {

template <class T>
kb::result<T> field(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return fail(errc::corrupt, fmt::format("restore state: {} has no '{}'", where, key));
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v->is_string()) return fail(errc::corrupt, fmt::format("restore state: {}.{} is not a string", where, key));
    return std::string(v->as_string());
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v->is_bool()) return fail(errc::corrupt, fmt::format("restore state: {}.{} is not a boolean", where, key));
    return v->as_bool();
  } else {
    boost::system::error_code ec;
    auto n = v->to_number<T>(ec);
    if (ec) return fail(errc::corrupt, fmt::format("restore state: {}.{} is not a number", where, key));
    return n;
  }
}

}  // namespace

kb::result<restore_state> parse_restore_state(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_object()) return fail(errc::corrupt, "restore state is not a JSON object");
  const auto& o = root.as_object();
  restore_state s;
// NOLINTBEGIN(bugprone-macro-parentheses): T is a template argument, dst an assignable member
#define KB_TRY_FIELD(dst, T, obj, key, where)         \
  do {                                               \
    auto v_ = field<T>(obj, key, where);             \
    if (!v_) return fail(std::move(v_.error()));     \
    dst = *v_;                                       \
  } while (0)
  // NOLINTEND(bugprone-macro-parentheses)
  KB_TRY_FIELD(s.restore_id, std::string, o, "restore_id", "root");
  KB_TRY_FIELD(s.backup_id, std::string, o, "backup_id", "root");
  KB_TRY_FIELD(s.updated_ms, std::int64_t, o, "updated_ms", "root");
  const json::value* parts = o.if_contains("partitions");
  if (parts == nullptr || !parts->is_array()) return fail(errc::corrupt, "restore state: 'partitions' is not an array");
  for (const auto& pv : parts->as_array()) {
    if (!pv.is_object()) return fail(errc::corrupt, "restore state: a partition entry is not an object");
    const auto& po = pv.as_object();
    partition_state p;
    KB_TRY_FIELD(p.source_topic, std::string, po, "source_topic", "partition");
    KB_TRY_FIELD(p.source_partition, std::int32_t, po, "source_partition", "partition");
    KB_TRY_FIELD(p.target_topic, std::string, po, "target_topic", "partition");
    KB_TRY_FIELD(p.target_partition, std::int32_t, po, "target_partition", "partition");
    if (po.contains("target_topic_id")) KB_TRY_FIELD(p.target_topic_id, std::string, po, "target_topic_id", "partition");
    KB_TRY_FIELD(p.next_source_offset, std::int64_t, po, "next_source_offset", "partition");
    KB_TRY_FIELD(p.target_end, std::int64_t, po, "target_end", "partition");
    KB_TRY_FIELD(p.records, std::uint64_t, po, "records", "partition");
    KB_TRY_FIELD(p.bytes, std::uint64_t, po, "bytes", "partition");
    KB_TRY_FIELD(p.done, bool, po, "done", "partition");
    if (po.contains("producer_id")) {  // absent in states written before it was kept
      KB_TRY_FIELD(p.producer_id, std::int64_t, po, "producer_id", "partition");
      KB_TRY_FIELD(p.producer_epoch, std::int16_t, po, "producer_epoch", "partition");
      KB_TRY_FIELD(p.sequence_origin, std::int64_t, po, "sequence_origin", "partition");
    }
    const json::value* rv = po.if_contains("ranges");
    if (rv == nullptr || !rv->is_array()) return fail(errc::corrupt, "restore state: 'ranges' is not an array");
    std::vector<offset_range> ranges;
    for (const auto& r : rv->as_array()) {
      if (!r.is_array() || r.as_array().size() != 3) return fail(errc::corrupt, "restore state: a range is not [s,t,n]");
      offset_range x;
      boost::system::error_code e1, e2, e3;
      x.source_first = r.as_array()[0].to_number<std::int64_t>(e1);
      x.target_first = r.as_array()[1].to_number<std::int64_t>(e2);
      x.count = r.as_array()[2].to_number<std::int64_t>(e3);
      if (e1 || e2 || e3) return fail(errc::corrupt, "restore state: a range holds a non-integer");
      ranges.push_back(x);
    }
    p.map.assign(std::move(ranges));
    s.partitions.push_back(std::move(p));
  }
#undef KB_TRY_FIELD
  return s;
}

}  // namespace kb::pipeline::restore
