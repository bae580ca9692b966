// backup.json, topic.json, checkpoint.json, groups/{epoch_ms}.json and lock.json as Boost.JSON,
// the key layout of a backup set, and the writer's lease.
#include "storage/format/manifest.hpp"

#include <charconv>
#include <limits>
#include <utility>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "storage/format/json_text.hpp"
#include "storage/object_store.hpp"

namespace kb::storage::format {

namespace json = boost::json;

// -------------------------------------------------------------------------------------------------
// Paths

std::string backup_paths::root() const { return backup_id + "/"; }
std::string backup_paths::backup_manifest() const { return root() + "backup.json"; }
std::string backup_paths::lock() const { return root() + "lock.json"; }
std::string backup_paths::topic_manifest(std::string_view topic) const {
  return fmt::format("{}topics/{}/topic.json", root(), topic);
}
std::string backup_paths::partition_dir(std::string_view topic, std::int32_t partition) const {
  return fmt::format("{}topics/{}/{}/", root(), topic, partition);
}
std::string backup_paths::segment(std::string_view topic, std::int32_t partition, std::int64_t first_offset,
                                  std::int64_t last_offset) const {
  return partition_dir(topic, partition) + segment_file_name(first_offset, last_offset);
}
std::string backup_paths::checkpoint(std::string_view topic, std::int32_t partition) const {
  return partition_dir(topic, partition) + "checkpoint.json";
}
std::string backup_paths::groups_dir() const { return root() + "groups/"; }
std::string backup_paths::group_snapshot(std::int64_t epoch_ms) const {
  return fmt::format("{}{}.json", groups_dir(), epoch_ms);
}
std::string backup_paths::restore_dir(std::string_view restore_id) const {
  return fmt::format("{}restores/{}/", root(), restore_id);
}

std::optional<std::pair<std::int64_t, std::int64_t>> parse_segment_file_name(std::string_view name) {
  if (const auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  // 20 digits, '-', 20 digits, ".kbs"
  if (name.size() != 45 || name[20] != '-' || name.substr(41) != ".kbs") return std::nullopt;
  auto number = [](std::string_view digits) -> std::optional<std::int64_t> {
    for (char c : digits)
      if (c < '0' || c > '9') return std::nullopt;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc{} || p != digits.data() + digits.size()) return std::nullopt;
    return v;
  };
  auto first = number(name.substr(0, 20));
  auto last = number(name.substr(21, 20));
  if (!first || !last || *first > *last) return std::nullopt;
  return std::pair{*first, *last};
}

// -------------------------------------------------------------------------------------------------
// Field access with messages that name the document and the field.

namespace {

class fields {
 public:
  fields(const json::object& o, std::string_view doc) : o_(o), doc_(doc) {}

  [[nodiscard]] bool failed() const noexcept { return !error_.empty(); }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

  std::string str(std::string_view key, bool required = true) {
    const auto* v = find(key, required);
    if (!v) return {};
    if (!v->is_string()) return bad(key, "is not a string"), std::string{};
    return std::string(v->as_string());
  }
  std::int64_t i64(std::string_view key, std::int64_t def = 0, bool required = true) {
    const auto* v = find(key, required);
    if (!v) return def;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return static_cast<std::int64_t>(v->as_uint64());
    return bad(key, "is not an integer"), def;
  }
  std::uint64_t u64(std::string_view key, bool required = true) {
    const auto* v = find(key, required);
    if (!v) return 0;
    if (v->is_uint64()) return v->as_uint64();
    if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
    return bad(key, "is not a non-negative integer"), 0;
  }
  template <class Int>
  Int ranged(std::string_view key, Int def = 0, bool required = true) {
    const std::int64_t v = i64(key, def, required);
    if (v < std::numeric_limits<Int>::min() || v > std::numeric_limits<Int>::max())
      return bad(key, "is out of range"), def;
    return static_cast<Int>(v);
  }
  bool boolean(std::string_view key, bool required = true) {
    const auto* v = find(key, required);
    if (!v) return false;
    if (!v->is_bool()) return bad(key, "is not true/false"), false;
    return v->as_bool();
  }
  const json::array* array(std::string_view key, bool required = true) {
    const auto* v = find(key, required);
    if (!v) return nullptr;
    if (!v->is_array()) return bad(key, "is not an array"), nullptr;
    return &v->as_array();
  }
  const json::object* object(std::string_view key, bool required = true) {
    const auto* v = find(key, required);
    if (!v) return nullptr;
    if (!v->is_object()) return bad(key, "is not an object"), nullptr;
    return &v->as_object();
  }
  std::vector<std::string> strings(std::string_view key, bool required = true) {
    std::vector<std::string> out;
    const auto* a = array(key, required);
    if (!a) return out;
    for (const auto& e : *a) {
      if (!e.is_string()) return bad(key, "holds something other than strings"), out;
      out.emplace_back(e.as_string());
    }
    return out;
  }
  void bad(std::string_view key, std::string_view what) {
    if (error_.empty()) error_ = fmt::format("{}: field '{}' {}", doc_, key, what);
  }

 private:
  const json::value* find(std::string_view key, bool required) {
    const auto* v = o_.if_contains(key);
    if (!v && required) bad(key, "is missing");
    return v;
  }
  const json::object& o_;
  std::string doc_;
  std::string error_;
};

kb::result<json::object> parse_object(std::string_view text, std::string_view doc) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return fail(errc::corrupt, fmt::format("{} is not valid JSON ({})", doc, ec.message()));
  if (!v.is_object()) return fail(errc::corrupt, fmt::format("{} is not a JSON object", doc));
  return std::move(v.as_object());
}

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::array gaps_to_json(const std::vector<offset_gap>& gaps) {
  json::array a;
  for (const auto& g : gaps) a.emplace_back(json::object{{"first_offset", g.first_offset}, {"last_offset", g.last_offset}});
  return a;
}

std::vector<offset_gap> gaps_from_json(fields& f, std::string_view doc, bool required) {
  std::vector<offset_gap> out;
  const auto* a = f.array("gaps", required);
  if (!a) return out;
  for (const auto& e : *a) {
    if (!e.is_object()) return f.bad("gaps", "holds something other than objects"), out;
    fields g(e.as_object(), fmt::format("{} gaps[{}]", doc, out.size()));
    offset_gap gap{g.i64("first_offset"), g.i64("last_offset")};
    if (g.failed()) return f.bad("gaps", g.error()), out;
    if (gap.first_offset < 0 || gap.first_offset > gap.last_offset)
      return f.bad("gaps", fmt::format("entry {} runs {}..{}", out.size(), gap.first_offset, gap.last_offset)), out;
    out.push_back(gap);
  }
  return out;
}

std::string text_of(const json::value& v) { return json_text::pretty(v); }

}  // namespace

// -------------------------------------------------------------------------------------------------
// backup.json

std::string to_json(const backup_manifest& m) {
  json::object o;
  o["format_version"] = m.format_version;
  o["tool_version"] = m.tool_version;
  o["backup_id"] = m.backup_id;
  o["source_cluster_id"] = m.source_cluster_id;
  o["bootstrap_servers"] = to_array(m.bootstrap_servers);
  o["created_ms"] = m.created_ms;
  o["updated_ms"] = m.updated_ms;
  o["mode"] = m.mode;
  o["compression"] = m.compression;
  o["topics"] = to_array(m.topics);
  if (!m.notes.empty()) o["notes"] = to_array(m.notes);
  if (!m.not_followed.empty()) o["not_followed"] = to_array(m.not_followed);
  if (!m.groups_not_captured.empty()) {
    json::array a;
    for (const auto& g : m.groups_not_captured) a.emplace_back(json::object{{"group", g.group}, {"reason", g.reason}});
    o["groups_not_captured"] = std::move(a);
  }
  return text_of(o);
}

kb::result<backup_manifest> parse_backup_manifest(std::string_view text) {
  constexpr std::string_view doc = "backup.json";
  auto o = parse_object(text, doc);
  if (!o) return fail(std::move(o.error()));
  fields f(*o, doc);
  backup_manifest m;
  m.format_version = f.ranged<std::uint32_t>("format_version");
  if (f.failed()) return fail(errc::corrupt, f.error());
  if (m.format_version != segment_format_version)
    return fail(errc::unsupported, fmt::format("{}: format_version {}; this kafka-backup reads version {}: use a newer "
                                               "kafka-backup", doc, m.format_version, segment_format_version));
  m.tool_version = f.str("tool_version");
  m.backup_id = f.str("backup_id");
  m.source_cluster_id = f.str("source_cluster_id");
  m.bootstrap_servers = f.strings("bootstrap_servers");
  m.created_ms = f.i64("created_ms");
  m.updated_ms = f.i64("updated_ms");
  m.mode = f.str("mode");
  m.compression = f.str("compression");
  m.topics = f.strings("topics");
  m.notes = f.strings("notes", false);
  m.not_followed = f.strings("not_followed", false);
  if (const auto* a = f.array("groups_not_captured", false)) {
    for (const auto& e : *a) {
      if (!e.is_object()) {
        f.bad("groups_not_captured", "holds something other than objects");
        break;
      }
      fields g(e.as_object(), fmt::format("{} groups_not_captured[{}]", doc, m.groups_not_captured.size()));
      group_not_captured entry{g.str("group"), g.str("reason", false)};
      if (g.failed()) {
        f.bad("groups_not_captured", g.error());
        break;
      }
      m.groups_not_captured.push_back(std::move(entry));
    }
  }
  if (!f.failed() && m.backup_id.empty()) f.bad("backup_id", "is empty");
  if (!f.failed() && m.compression != "none" && m.compression != "lz4" && m.compression != "zstd")
    f.bad("compression", fmt::format("is '{}', not none, lz4 or zstd", m.compression));
  if (f.failed()) return fail(errc::corrupt, f.error());
  return m;
}

// -------------------------------------------------------------------------------------------------
// topic.json

std::string to_json(const topic_manifest& m) {
  json::object o;
  o["name"] = m.name;
  o["topic_id"] = m.topic_id;
  o["partition_count"] = m.partition_count;
  o["replication_factor"] = m.replication_factor;
  o["is_internal"] = m.is_internal;
  json::object configs;
  for (const auto& [k, v] : m.configs) configs[k] = v;
  o["configs"] = std::move(configs);
  return text_of(o);
}

kb::result<topic_manifest> parse_topic_manifest(std::string_view text) {
  constexpr std::string_view doc = "topic.json";
  auto o = parse_object(text, doc);
  if (!o) return fail(std::move(o.error()));
  fields f(*o, doc);
  topic_manifest m;
  m.name = f.str("name");
  m.topic_id = f.str("topic_id");
  m.partition_count = f.ranged<std::int32_t>("partition_count");
  m.replication_factor = f.ranged<std::int16_t>("replication_factor", -1);
  m.is_internal = f.boolean("is_internal");
  if (const auto* c = f.object("configs")) {
    for (const auto& kv : *c) {
      if (!kv.value().is_string()) {
        f.bad("configs", fmt::format("entry '{}' is not a string", std::string_view(kv.key())));
        break;
      }
      m.configs.emplace(std::string(kv.key()), std::string(kv.value().as_string()));
    }
  }
  if (!f.failed() && m.name.empty()) f.bad("name", "is empty");
  if (!f.failed() && m.partition_count < 0) f.bad("partition_count", "is negative");
  if (f.failed()) return fail(errc::corrupt, f.error());
  return m;
}

// -------------------------------------------------------------------------------------------------
// checkpoint.json

std::string to_json(const partition_checkpoint& c) {
  json::object o;
  o["topic"] = c.topic;
  o["partition"] = c.partition;
  o["next_offset"] = c.next_offset;
  o["last_segment"] = c.last_segment;
  o["segments"] = c.segments;
  o["records"] = c.records;
  o["bytes_raw"] = c.bytes_raw;
  o["bytes_stored"] = c.bytes_stored;
  o["first_offset"] = c.first_offset;
  o["min_timestamp"] = c.min_timestamp;
  o["max_timestamp"] = c.max_timestamp;
  o["gaps"] = gaps_to_json(c.gaps);
  o["updated_ms"] = c.updated_ms;
  return text_of(o);
}

kb::result<partition_checkpoint> parse_checkpoint(std::string_view text) {
  constexpr std::string_view doc = "checkpoint.json";
  auto o = parse_object(text, doc);
  if (!o) return fail(std::move(o.error()));
  fields f(*o, doc);
  partition_checkpoint c;
  c.topic = f.str("topic");
  c.partition = f.ranged<std::int32_t>("partition");
  c.next_offset = f.i64("next_offset");
  c.last_segment = f.str("last_segment");
  c.segments = f.u64("segments");
  c.records = f.u64("records");
  c.bytes_raw = f.u64("bytes_raw");
  c.bytes_stored = f.u64("bytes_stored");
  c.first_offset = f.i64("first_offset", -1);
  c.min_timestamp = f.i64("min_timestamp", -1);
  c.max_timestamp = f.i64("max_timestamp", -1);
  c.gaps = gaps_from_json(f, doc, true);
  c.updated_ms = f.i64("updated_ms");
  if (!f.failed() && c.topic.empty()) f.bad("topic", "is empty");
  if (!f.failed() && (c.partition < 0)) f.bad("partition", "is negative");
  if (!f.failed() && c.next_offset < 0) f.bad("next_offset", "is negative");
  if (!f.failed() && !c.last_segment.empty() && !parse_segment_file_name(c.last_segment))
    f.bad("last_segment", fmt::format("'{}' is not a segment key", c.last_segment));
  if (f.failed()) return fail(errc::corrupt, f.error());
  return c;
}

// -------------------------------------------------------------------------------------------------
// groups/{epoch_ms}.json

std::string to_json(const group_snapshot& g) {
  json::object groups;
  for (const auto& [id, offsets] : g.groups) {
    json::array a;
    for (const auto& e : offsets)
      a.emplace_back(json::object{{"topic", e.topic},
                                  {"partition", e.partition},
                                  {"offset", e.offset},
                                  {"leader_epoch", e.leader_epoch},
                                  {"metadata", e.metadata}});
    groups[id] = std::move(a);
  }
  json::object o;
  o["captured_ms"] = g.captured_ms;
  o["groups"] = std::move(groups);
  return text_of(o);
}

kb::result<group_snapshot> parse_group_snapshot(std::string_view text) {
  constexpr std::string_view doc = "group snapshot";
  auto o = parse_object(text, doc);
  if (!o) return fail(std::move(o.error()));
  fields f(*o, doc);
  group_snapshot g;
  g.captured_ms = f.i64("captured_ms");
  if (const auto* groups = f.object("groups")) {
    for (const auto& kv : *groups) {
      const std::string id(kv.key());
      if (!kv.value().is_array()) {
        f.bad("groups", fmt::format("entry '{}' is not an array", id));
        break;
      }
      auto& list = g.groups[id];
      for (const auto& e : kv.value().as_array()) {
        if (!e.is_object()) {
          f.bad("groups", fmt::format("entry '{}' holds something other than objects", id));
          break;
        }
        fields ef(e.as_object(), fmt::format("{} group '{}'", doc, id));
        group_offset go;
        go.topic = ef.str("topic");
        go.partition = ef.ranged<std::int32_t>("partition");
        go.offset = ef.i64("offset");
        go.leader_epoch = ef.ranged<std::int32_t>("leader_epoch", -1);
        go.metadata = ef.str("metadata", false);
        if (ef.failed()) {
          f.bad("groups", ef.error());
          break;
        }
        list.push_back(std::move(go));
      }
      if (f.failed()) break;
    }
  }
  if (f.failed()) return fail(errc::corrupt, f.error());
  return g;
}

// -------------------------------------------------------------------------------------------------
// lock.json and the lease

std::string to_json(const lease& l) {
  json::object o;
  o["owner"] = l.owner;
  o["acquired_ms"] = l.acquired_ms;
  o["expires_ms"] = l.expires_ms;
  return text_of(o);
}

kb::result<lease> parse_lease(std::string_view text) {
  constexpr std::string_view doc = "lock.json";
  auto o = parse_object(text, doc);
  if (!o) return fail(std::move(o.error()));
  fields f(*o, doc);
  lease l;
  l.owner = f.str("owner");
  l.acquired_ms = f.i64("acquired_ms");
  l.expires_ms = f.i64("expires_ms");
  if (!f.failed() && l.owner.empty()) f.bad("owner", "is empty");
  if (f.failed()) return fail(errc::corrupt, f.error());
  return l;
}

namespace {

kb::result<std::optional<lease>> read_lease(object_store& store, const std::string& key) {
  auto bytes = store.get(key);
  if (!bytes) {
    if (bytes.error().is(errc::not_found)) return std::optional<lease>{};
    return fail(std::move(bytes.error()));
  }
  auto l = parse_lease(as_text(*bytes));
  if (!l)
    return fail(errc::corrupt, fmt::format("{}{}: {}; if no backup is running with this backup_id, remove that object",
                                           store.describe(), key, l.error().message));
  return std::optional<lease>{std::move(*l)};
}

std::string held_message(const object_store& store, const backup_paths& paths, const lease& held, std::int64_t now_ms) {
  return fmt::format("backup '{}' is locked by {} (lease in {}{} expires in {} s): another backup is writing this "
                     "backup_id. Stop it or choose another backup_id; if that process is gone, wait for the lease "
                     "to expire or remove {}{}",
                     paths.backup_id, held.owner, store.describe(), paths.lock(),
                     (held.expires_ms - now_ms + 999) / 1000, store.describe(), paths.lock());
}

}  // namespace

kb::result<lease> acquire_lease(object_store& store, const backup_paths& paths, std::string owner, std::int64_t now_ms,
                                std::int64_t ttl_ms) {
  const std::string key = paths.lock();
  lease ours{std::move(owner), now_ms, now_ms + ttl_ms};
  const std::string text = to_json(ours);
  // Bounded: each round either takes the lease, fails, or saw it vanish or expire meanwhile.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto put = store.put_if_absent(key, as_bytes(text));
    if (put) return ours;
    if (!put.error().is(errc::conflict)) return fail(std::move(put.error()));
    auto held = read_lease(store, key);
    if (!held) return fail(std::move(held.error()));
    if (!*held) continue;  // released between our put and our read
    if ((*held)->owner == ours.owner) {
      ours.acquired_ms = (*held)->acquired_ms;
      const std::string renewed = to_json(ours);
      if (auto r = store.put(key, as_bytes(renewed)); !r) return fail(std::move(r.error()));
      return ours;
    }
    if ((*held)->expires_ms >= now_ms) return fail(errc::conflict, held_message(store, paths, **held, now_ms));
    // Expired: remove it and race for it again with put_if_absent, so of two takers only one
    // wins the put (the other sees a live lease). A taker that removes the winner's fresh
    // lease in the narrow window between the winner's read and put is caught by renew_lease.
    kb::log::warn("backup '{}': taking over the lease of {} which expired {} s ago", paths.backup_id,
                  (*held)->owner, (now_ms - (*held)->expires_ms) / 1000);
    if (auto r = store.remove(key); !r) return fail(std::move(r.error()));
  }
  return fail(errc::conflict, fmt::format("backup '{}': the lease {}{} changed hands three times while we tried to "
                                          "take it; another backup is starting with this backup_id",
                                          paths.backup_id, store.describe(), key));
}

kb::result<lease> renew_lease(object_store& store, const backup_paths& paths, const lease& ours, std::int64_t now_ms,
                              std::int64_t ttl_ms) {
  const std::string key = paths.lock();
  auto held = read_lease(store, key);
  if (!held) return fail(std::move(held.error()));
  lease next{ours.owner, ours.acquired_ms, now_ms + ttl_ms};
  if (!*held) {
    // Someone removed it (an operator, or a taker that then lost): take it back if still free.
    auto put = store.put_if_absent(key, as_bytes(to_json(next)));
    if (put) return next;
    if (!put.error().is(errc::conflict)) return fail(std::move(put.error()));
    auto again = read_lease(store, key);
    if (!again) return fail(std::move(again.error()));
    if (!*again || (*again)->owner != ours.owner)
      return fail(errc::conflict, fmt::format("backup '{}': our lease was removed and {} took {}{}; stopping so that "
                                              "only one backup writes this backup_id",
                                              paths.backup_id, *again ? (*again)->owner : std::string("another run"),
                                              store.describe(), key));
    return next;
  }
  if ((*held)->owner != ours.owner)
    return fail(errc::conflict, fmt::format("backup '{}': the lease {}{} is now held by {} (ours expired or was taken "
                                            "over); stopping so that only one backup writes this backup_id",
                                            paths.backup_id, store.describe(), key, (*held)->owner));
  if (auto r = store.put(key, as_bytes(to_json(next))); !r) return fail(std::move(r.error()));
  return next;
}

kb::result<void> release_lease(object_store& store, const backup_paths& paths, const lease& ours) {
  const std::string key = paths.lock();
  auto held = read_lease(store, key);
  if (!held) return fail(std::move(held.error()));
  if (!*held || (*held)->owner != ours.owner) return {};
  return store.remove(key);
}

}  // namespace kb::storage::format
