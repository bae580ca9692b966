// list, describe and validate over a backup location (see inspect.hpp, docs/describe-json.md).
#include "pipeline/inspect/inspect.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <xxhash.h>

#include "base/log.hpp"
#include "pipeline/backup/batch_info.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/format/json_text.hpp"
#include "storage/format/segment_chain.hpp"
#include "storage/format/segment_overlap.hpp"

namespace kb::pipeline::inspect {

namespace sf = storage::format;
namespace json = boost::json;

// -------------------------------------------------------------------------------------------------
// Opening a location

kb::result<std::unique_ptr<storage::object_store>> open_location(std::string_view url, const storage::env_lookup& env) {
  auto where = storage::parse_location(url);
  if (!where) return fail(std::move(where.error()));
  if (where->kind == storage::backend_kind::filesystem) {
    std::error_code ec;
    const std::filesystem::path root = std::filesystem::path(where->path) / where->prefix;
    if (!std::filesystem::exists(root, ec))
      return fail(errc::not_found, fmt::format("storage location {} does not exist: check --path", root.string()));
    if (!std::filesystem::is_directory(root, ec))
      return fail(errc::invalid_argument, fmt::format("storage location {} is not a directory: check --path", root.string()));
  }
  return storage::open_store(*where, storage::store_settings{}, env);
}

namespace {

std::string when(std::int64_t ms) {
  if (ms < 0) return "-";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(secs), ms % 1000);
}

std::string human_bytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

/// The backup ids under the root, without their trailing '/'.
kb::result<std::vector<std::string>> backup_ids(storage::object_store& store) {
  auto prefixes = store.list_prefixes("");
  if (!prefixes) return fail(std::move(prefixes.error()));
  std::vector<std::string> ids;
  for (auto& p : *prefixes) {
    if (!p.empty() && p.back() == '/') p.pop_back();
    if (!p.empty()) ids.push_back(std::move(p));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

kb::result<void> require_backup(storage::object_store& store, std::string_view backup_id) {
  auto ids = backup_ids(store);
  if (!ids) return fail(std::move(ids.error()));
  if (std::find(ids->begin(), ids->end(), backup_id) != ids->end()) return {};
  if (ids->empty())
    return fail(errc::not_found, fmt::format("no backup '{}' in {}: the location holds no backups; check --path",
                                             backup_id, store.describe()));
  std::string names;
  for (const auto& id : *ids) names += (names.empty() ? "" : ", ") + id;
  return fail(errc::not_found, fmt::format("no backup '{}' in {}; backups there: {}", backup_id, store.describe(), names));
}

// ---- the objects of one backup, grouped ------------------------------------------------------

struct segment_object {
  storage::object_info object;
  std::int64_t first = 0;  ///< from the key
  std::int64_t last = 0;
};

struct partition_objects {
  std::vector<segment_object> segments;  ///< sorted by first offset
  std::optional<storage::object_info> checkpoint;
  std::vector<std::string> strays;  ///< other objects in the partition folder
};

struct topic_objects {
  std::optional<storage::object_info> manifest;
  std::map<std::int32_t, partition_objects> partitions;
};

struct backup_objects {
  std::map<std::string, topic_objects> topics;
  std::vector<std::string> strays;  ///< keys under topics/ that fit no pattern
};

std::optional<std::int32_t> parse_partition(std::string_view s) {
  std::int32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < 0 || s.empty()) return std::nullopt;
  return v;
}

kb::result<backup_objects> scan(storage::object_store& store, const sf::backup_paths& paths) {
  const std::string root = paths.root() + "topics/";
  auto listing = store.list(root);
  if (!listing) return fail(std::move(listing.error()));
  backup_objects out;
  for (auto& obj : *listing) {
    const std::string_view rest = std::string_view(obj.key).substr(root.size());
    const auto s1 = rest.find('/');
    if (s1 == std::string_view::npos) {
      out.strays.push_back(obj.key);
      continue;
    }
    const std::string topic(rest.substr(0, s1));
    const std::string_view tail = rest.substr(s1 + 1);
    auto& t = out.topics[topic];
    if (tail == "topic.json") {
      t.manifest = obj;
      continue;
    }
    const auto s2 = tail.find('/');
    const auto part = s2 == std::string_view::npos ? std::nullopt : parse_partition(tail.substr(0, s2));
    if (!part || tail.find('/', s2 + 1) != std::string_view::npos) {
      out.strays.push_back(obj.key);
      continue;
    }
    auto& p = t.partitions[*part];
    const std::string_view name = tail.substr(s2 + 1);
    if (name == "checkpoint.json") {
      p.checkpoint = obj;
    } else if (auto range = sf::parse_segment_file_name(name)) {
      p.segments.push_back({obj, range->first, range->second});
    } else {
      p.strays.push_back(obj.key);
    }
  }
  for (auto& [name, t] : out.topics)
    for (auto& [num, p] : t.partitions)
      std::sort(p.segments.begin(), p.segments.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.last < b.last;
      });
  return out;
}

/// The objects of one partition folder as they are now (scan() of just that folder).
kb::result<partition_objects> scan_partition(storage::object_store& store, const sf::backup_paths& paths,
                                             const std::string& topic, std::int32_t partition) {
  const std::string dir = paths.partition_dir(topic, partition);
  auto listing = store.list(dir);
  if (!listing) return fail(std::move(listing.error()));
  partition_objects p;
  for (auto& obj : *listing) {
    const std::string_view name = std::string_view(obj.key).substr(std::min(obj.key.size(), dir.size()));
    if (name == "checkpoint.json") p.checkpoint = obj;
    else if (auto range = sf::parse_segment_file_name(name); range && name.find('/') == std::string_view::npos)
      p.segments.push_back({obj, range->first, range->second});
    else p.strays.push_back(obj.key);
  }
  std::sort(p.segments.begin(), p.segments.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.last < b.last;
  });
  return p;
}

template <class T, class Parse>
kb::result<T> read_json(storage::object_store& store, const std::string& key, Parse parse) {
  auto bytes = store.get(key);
  if (!bytes) return fail(std::move(bytes.error()));
  auto parsed = parse(as_text(*bytes));
  if (!parsed) return fail(parsed.error().code, fmt::format("{}: {}", key, parsed.error().message));
  return std::move(*parsed);
}

using sf::merge_gaps;

bool is_compacted(const sf::topic_manifest& t) {
  auto it = t.configs.find("cleanup.policy");
  return it != t.configs.end() && it->second.find("compact") != std::string::npos;
}

/// Topics in manifest order, then any found only in storage.
std::vector<std::string> topic_order(const sf::backup_manifest* m, const backup_objects& objs) {
  std::vector<std::string> names;
  if (m) names = m->topics;
  for (const auto& [name, t] : objs.topics)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// list

kb::result<std::vector<backup_listing>> list_backups(storage::object_store& store) {
  auto ids = backup_ids(store);
  if (!ids) return fail(std::move(ids.error()));
  std::vector<backup_listing> out;
  for (const auto& id : *ids) {
    backup_listing b;
    b.backup_id = id;
    const sf::backup_paths paths{id};
    auto m = read_json<sf::backup_manifest>(store, paths.backup_manifest(), sf::parse_backup_manifest);
    if (m) {
      b.created_ms = m->created_ms;
      b.updated_ms = m->updated_ms;
      b.topics = m->topics;
    } else if (m.error().is(errc::not_found)) {
      // A backup writes backup.json before anything else: a folder without one is not a backup.
      kb::log::debug("list: {} holds no {}: not a backup, skipped", id, paths.backup_manifest());
      continue;
    } else {
      b.problem = m.error().message;
    }
    auto objects = store.list(paths.root());
    if (!objects) return fail(std::move(objects.error()));
    for (const auto& o : *objects) b.size_bytes += o.size;
    b.objects = objects->size();
    out.push_back(std::move(b));
  }
  return out;
}

std::string list_text(const std::vector<backup_listing>& backups, std::string_view where) {
  if (backups.empty()) return fmt::format("No backups in {}\n", where);
  std::size_t width = 9;
  for (const auto& b : backups) width = std::max(width, b.backup_id.size());
  std::string out = fmt::format("{:<{}}  {:<24}  {:>10}  {}\n", "BACKUP ID", width, "CREATED (UTC)", "SIZE", "TOPICS");
  for (const auto& b : backups) {
    std::string topics;
    for (const auto& t : b.topics) topics += (topics.empty() ? "" : ",") + t;
    if (!b.problem.empty()) topics = "(" + b.problem + ")";
    out += fmt::format("{:<{}}  {:<24}  {:>10}  {}\n", b.backup_id, width, when(b.created_ms), human_bytes(b.size_bytes),
                       topics);
  }
  out += fmt::format("{} backup{} in {}\n", backups.size(), backups.size() == 1 ? "" : "s", where);
  return out;
}

std::string list_json(const std::vector<backup_listing>& backups) {
  json::array a;
  for (const auto& b : backups) {
    json::array topics;
    for (const auto& t : b.topics) topics.emplace_back(t);
    json::object o{{"backup_id", b.backup_id}, {"created_ms", b.created_ms}, {"topics", std::move(topics)},
                   {"size_bytes", b.size_bytes}, {"objects", b.objects}};
    if (!b.problem.empty()) o["problem"] = b.problem;
    a.emplace_back(std::move(o));
  }
  return sf::json_text::pretty(json::object{{"backups", std::move(a)}});
}

// -------------------------------------------------------------------------------------------------
// describe

namespace {

/// Adds one segment's index to a partition summary; batches an earlier segment already covered
/// (overlap after a resumed backup) count once, as the restore counts them.
void add_segment(partition_summary& p, const sf::segment_index& idx, std::uint64_t object_size, std::int64_t& next) {
  p.segments += 1;
  p.bytes_stored += object_size;
  for (const auto& b : idx.batches) {
    if (b.last_offset < next) continue;
    next = b.last_offset + 1;
    p.batches += 1;
    p.bytes_raw += b.size;
    // A batch the log start fell inside counts from the start (its leading offsets are a gap).
    const std::int64_t live = sf::live_first_offset(idx, b);
    if (p.first_offset < 0) p.first_offset = live;
    p.last_offset = b.last_offset;
    if ((b.flags & sf::batch_flags::control) != 0) continue;
    if (b.record_count > 0)
      p.records += static_cast<std::uint64_t>(std::max<std::int64_t>(0, b.record_count - (live - b.first_offset)));
    for (auto ts : {b.first_timestamp, b.max_timestamp})
      if (ts >= 0 && (p.min_timestamp < 0 || ts < p.min_timestamp)) p.min_timestamp = ts;
    p.max_timestamp = std::max(p.max_timestamp, b.max_timestamp);
  }
  p.gaps.insert(p.gaps.end(), idx.gaps.begin(), idx.gaps.end());
}

}  // namespace

kb::result<backup_description> describe_backup(storage::object_store& store, std::string_view backup_id) {
  if (auto r = require_backup(store, backup_id); !r) return fail(std::move(r.error()));
  const sf::backup_paths paths{std::string(backup_id)};
  backup_description d;
  auto manifest = read_json<sf::backup_manifest>(store, paths.backup_manifest(), sf::parse_backup_manifest);
  if (!manifest) return fail(std::move(manifest.error()));
  d.manifest = std::move(*manifest);
  auto objs = scan(store, paths);
  if (!objs) return fail(std::move(objs.error()));

  for (const auto& name : topic_order(&d.manifest, *objs)) {
    topic_summary ts;
    ts.name = name;
    ts.followed = std::find(d.manifest.not_followed.begin(), d.manifest.not_followed.end(), name) ==
                  d.manifest.not_followed.end();
    const auto found = objs->topics.find(name);
    const topic_objects empty;
    const topic_objects& to = found == objs->topics.end() ? empty : found->second;
    auto tm = read_json<sf::topic_manifest>(store, paths.topic_manifest(name), sf::parse_topic_manifest);
    if (tm) ts.partition_count = tm->partition_count;
    else if (!tm.error().is(errc::not_found)) return fail(std::move(tm.error()));
    if (!to.partitions.empty()) ts.partition_count = std::max(ts.partition_count, to.partitions.rbegin()->first + 1);
    for (std::int32_t p = 0; p < ts.partition_count; ++p) {
      partition_summary ps;
      ps.partition = p;
      const auto pit = to.partitions.find(p);
      if (pit != to.partitions.end()) {
        const auto& po = pit->second;
        std::int64_t next = std::numeric_limits<std::int64_t>::min();
        for (const auto& seg : po.segments) {
          auto idx = sf::read_segment_index(store, seg.object.key, seg.object.size);
          if (!idx)
            return fail(idx.error().code, fmt::format("{} (run 'kafka-backup validate' for a full report)", idx.error().message));
          add_segment(ps, *idx, seg.object.size, next);
        }
        if (po.checkpoint) {
          auto c = read_json<sf::partition_checkpoint>(store, po.checkpoint->key, sf::parse_checkpoint);
          if (!c) return fail(std::move(c.error()));
          ps.next_offset = c->next_offset;
          ps.gaps.insert(ps.gaps.end(), c->gaps.begin(), c->gaps.end());
        }
        ps.gaps = merge_gaps(std::move(ps.gaps));
      }
      d.records += ps.records;
      d.bytes_raw += ps.bytes_raw;
      d.bytes_stored += ps.bytes_stored;
      d.segments += ps.segments;
      d.gaps += ps.gaps.size();
      ts.partitions.push_back(std::move(ps));
    }
    d.topics.push_back(std::move(ts));
  }
  return d;
}

std::string describe_text(const backup_description& d) {
  const auto& m = d.manifest;
  std::string out;
  out += fmt::format("Backup {}\n", m.backup_id);
  out += fmt::format("  format version  {}\n", m.format_version);
  out += fmt::format("  written by      kafka-backup {}\n", m.tool_version.empty() ? "?" : m.tool_version);
  out += fmt::format("  source cluster  {}\n", m.source_cluster_id.empty() ? "(unknown)" : m.source_cluster_id);
  out += fmt::format("  mode            {}, compression {}\n", m.mode, m.compression);
  out += fmt::format("  created         {}\n", when(m.created_ms));
  out += fmt::format("  updated         {}\n", when(m.updated_ms));
  for (const auto& n : m.notes) out += fmt::format("  note            {}\n", n);
  for (const auto& g : m.groups_not_captured)
    out += fmt::format("  group missing   {}: offsets not captured ({})\n", g.group, g.reason);
  for (const auto& t : d.topics) {
    out += fmt::format("\nTopic {} ({} partition{}){}\n", t.name, t.partition_count, t.partition_count == 1 ? "" : "s",
                       t.followed ? "" : " — no longer followed: the latest run's source.topics does not select it");
    out += fmt::format("  {:>4}  {:>12}  {:>12}  {:>10}  {:>10}  {:>10}  {:>8}  {:<24}  {:<24}\n", "PART", "FIRST",
                       "LAST", "RECORDS", "RAW", "STORED", "SEGMENTS", "MIN TIMESTAMP", "MAX TIMESTAMP");
    for (const auto& p : t.partitions) {
      out += fmt::format("  {:>4}  {:>12}  {:>12}  {:>10}  {:>10}  {:>10}  {:>8}  {:<24}  {:<24}\n", p.partition,
                         p.first_offset < 0 ? std::string("-") : std::to_string(p.first_offset),
                         p.last_offset < 0 ? std::string("-") : std::to_string(p.last_offset), p.records,
                         human_bytes(p.bytes_raw), human_bytes(p.bytes_stored), p.segments, when(p.min_timestamp),
                         when(p.max_timestamp));
      for (const auto& g : p.gaps)
        out += fmt::format("        gap {}..{} ({} offsets lost to retention before the backup read them)\n",
                           g.first_offset, g.last_offset, g.last_offset - g.first_offset + 1);
    }
  }
  out += fmt::format("\nTotal: {} records, {} raw, {} stored, {} segments, {} gaps\n", d.records,
                     human_bytes(d.bytes_raw), human_bytes(d.bytes_stored), d.segments, d.gaps);
  return out;
}

std::string describe_json(const backup_description& d) {
  json::array topics;
  for (const auto& t : d.topics) {
    json::array parts;
    for (const auto& p : t.partitions) {
      json::array gaps;
      for (const auto& g : p.gaps)
        gaps.emplace_back(json::object{{"first_offset", g.first_offset}, {"last_offset", g.last_offset}});
      parts.emplace_back(json::object{{"partition", p.partition},
                                      {"first_offset", p.first_offset},
                                      {"last_offset", p.last_offset},
                                      {"records", p.records},
                                      {"batches", p.batches},
                                      {"bytes_raw", p.bytes_raw},
                                      {"bytes_stored", p.bytes_stored},
                                      {"min_timestamp", p.min_timestamp},
                                      {"max_timestamp", p.max_timestamp},
                                      {"segments", p.segments},
                                      {"next_offset", p.next_offset},
                                      {"gaps", std::move(gaps)}});
    }
    topics.emplace_back(
        json::object{{"name", t.name},
                     {"partition_count", t.partition_count},
                     {"followed", t.followed},
                     {"partitions", std::move(parts)}});
  }
  json::array bootstrap;
  for (const auto& s : d.manifest.bootstrap_servers) bootstrap.emplace_back(s);
  json::array missing_groups;
  for (const auto& g : d.manifest.groups_not_captured)
    missing_groups.emplace_back(json::object{{"group", g.group}, {"reason", g.reason}});
  json::object o{{"backup_id", d.manifest.backup_id},
                 {"format_version", d.manifest.format_version},
                 {"tool_version", d.manifest.tool_version},
                 {"source_cluster_id", d.manifest.source_cluster_id},
                 {"bootstrap_servers", std::move(bootstrap)},
                 {"mode", d.manifest.mode},
                 {"compression", d.manifest.compression},
                 {"created_ms", d.manifest.created_ms},
                 {"updated_ms", d.manifest.updated_ms},
                 {"topics", std::move(topics)},
                 {"groups_not_captured", std::move(missing_groups)},
                 {"totals", json::object{{"records", d.records},
                                         {"bytes_raw", d.bytes_raw},
                                         {"bytes_stored", d.bytes_stored},
                                         {"segments", d.segments},
                                         {"gaps", d.gaps}}}};
  return sf::json_text::pretty(o);
}

// -------------------------------------------------------------------------------------------------
// validate

namespace {

class validator {
 public:
  validator(storage::object_store& store, const sf::backup_paths& paths, const validate_options& o)
      : store_(store), paths_(paths), opts_(o) {}

  validation run() {
    auto manifest = read_json<sf::backup_manifest>(store_, paths_.backup_manifest(), sf::parse_backup_manifest);
    if (!manifest) problem(paths_.backup_manifest(), manifest.error());
    if (manifest && manifest->backup_id != paths_.backup_id)
      problem(paths_.backup_manifest(), fmt::format("names backup '{}' but lies under '{}'", manifest->backup_id,
                                                    paths_.backup_id));
    auto objs = scan(store_, paths_);
    if (!objs) {
      problem(paths_.root() + "topics/", objs.error());
      return std::move(v_);
    }
    for (const auto& key : objs->strays) problem(key, "unexpected object in the backup layout");
    for (const auto& name : topic_order(manifest ? &*manifest : nullptr, *objs)) {
      const auto found = objs->topics.find(name);
      check_topic(name, found == objs->topics.end() ? topic_objects{} : found->second,
                  manifest && std::find(manifest->topics.begin(), manifest->topics.end(), name) != manifest->topics.end());
    }
    auto groups = store_.list(paths_.groups_dir());
    if (!groups) {
      problem(paths_.groups_dir(), groups.error());
    } else {
      for (const auto& g : *groups) {
        auto snap = read_json<sf::group_snapshot>(store_, g.key, sf::parse_group_snapshot);
        if (!snap) problem(g.key, snap.error());
      }
    }
    return std::move(v_);
  }

 private:
  void problem(const std::string& key, std::string what) { v_.problems.push_back({key, std::move(what)}); }
  void problem(const std::string& key, const kb::error& e) {
    // Messages from the readers often start with the key already; do not say it twice.
    std::string m = e.message;
    if (m.rfind(key + ": ", 0) == 0) m.erase(0, key.size() + 2);
    const std::string seg_prefix = "segment " + key + ": ";
    if (m.rfind(seg_prefix, 0) == 0) m.erase(0, seg_prefix.size());
    if (e.is(errc::not_found)) m = "missing";
    problem(key, std::move(m));
  }

  void check_topic(const std::string& name, const topic_objects& to, bool in_manifest) {
    const std::string tkey = paths_.topic_manifest(name);
    if (!in_manifest) problem(tkey, fmt::format("topic '{}' has objects but is not listed in backup.json", name));
    std::optional<sf::topic_manifest> tm;
    if (!to.manifest) {
      problem(tkey, "missing");
    } else {
      auto parsed = read_json<sf::topic_manifest>(store_, tkey, sf::parse_topic_manifest);
      if (!parsed) problem(tkey, parsed.error());
      else if (parsed->name != name) problem(tkey, fmt::format("names topic '{}'", parsed->name));
      else tm = std::move(*parsed);
    }
    const bool compacted = tm && is_compacted(*tm);
    std::int32_t count = tm ? tm->partition_count : 0;
    for (const auto& [p, po] : to.partitions) {
      if (tm && p >= tm->partition_count)
        problem(paths_.partition_dir(name, p), fmt::format("partition {} is beyond the topic's {} partitions", p,
                                                           tm->partition_count));
      count = std::max(count, p + 1);
    }
    for (std::int32_t p = 0; p < count; ++p) {
      const auto pit = to.partitions.find(p);
      check_partition(name, p, pit == to.partitions.end() ? partition_objects{} : pit->second, compacted);
    }
  }

  void check_partition(const std::string& topic, std::int32_t partition, const partition_objects& listed, bool compacted) {
    const std::string ckey = paths_.checkpoint(topic, partition);
    std::optional<sf::partition_checkpoint> cp;
    bool checkpoint_missing = false;
    {
      // Read even when the listing showed none: a backup may have written it since.
      auto c = read_json<sf::partition_checkpoint>(store_, ckey, sf::parse_checkpoint);
      if (!c && c.error().is(errc::not_found)) checkpoint_missing = true;
      else if (!c) problem(ckey, c.error());
      else if (c->topic != topic || c->partition != partition)
        problem(ckey, fmt::format("names {}-{}", c->topic, c->partition));
      else cp = std::move(*c);
    }
    // A backup running meanwhile may have moved the checkpoint on since the folder was listed:
    // a listing taken after reading the checkpoint holds every segment it names (segments are
    // durable before the checkpoint points at them), so that snapshot is validated instead.
    std::optional<partition_objects> relisted;
    if (cp && !cp->last_segment.empty() &&
        std::none_of(listed.segments.begin(), listed.segments.end(),
                     [&](const segment_object& s) { return s.object.key == cp->last_segment; })) {
      auto again = scan_partition(store_, paths_, topic, partition);
      if (!again) problem(paths_.partition_dir(topic, partition), again.error());
      else relisted = std::move(*again);
    }
    const partition_objects& po = relisted ? *relisted : listed;
    for (const auto& key : po.strays) problem(key, "unexpected object in a partition folder");
    if (checkpoint_missing) problem(ckey, "missing (every backed-up partition has one)");

    // Index of every segment (and, deep, the whole segment).
    std::vector<sf::segment_index> indexes;
    indexes.reserve(po.segments.size());  // links point into it
    std::vector<sf::chain_link> links;
    for (const auto& s : po.segments) {
      v_.segments += 1;
      sf::chain_link link{s.object.key, s.first, s.last, nullptr};
      auto idx = sf::read_segment_index(store_, s.object.key, s.object.size);
      if (!idx) {
        problem(s.object.key, idx.error());
      } else if (auto wrong = sf::segment_mismatch(*idx, topic, partition, s.first, s.last)) {
        problem(s.object.key, *wrong);
      } else {
        v_.batches += opts_.deep ? 0 : idx->batches.size();
        if (!opts_.deep || check_deep(s, *idx)) {
          indexes.push_back(std::move(*idx));
          link.index = &indexes.back();
        }
      }
      links.push_back(std::move(link));
    }
    if (cp && cp->last_segment.empty() && !po.segments.empty() && cp->segments > 0)
      problem(ckey, "counts segments but names none");

    // The chain from the first segment to the checkpoint, apart from recorded gaps (and
    // compaction, which may remove offsets between and inside segments of a compacted topic).
    const auto chain = sf::check_chain(links, cp ? &*cp : nullptr, ckey, compacted);
    for (const auto& f : chain.findings) problem(f.key, f.problem);
    if (opts_.deep) check_overlaps(chain, links);
  }

  /// Overlaps whose index entries agree (two writers for a moment) must hold the same bytes too.
  void check_overlaps(const sf::chain_report& chain, const std::vector<sf::chain_link>& links) {
    auto link_of = [&](const std::string& key) -> const sf::chain_link* {
      for (const auto& l : links)
        if (l.key == key && l.index) return &l;
      return nullptr;
    };
    for (const auto& o : chain.overlaps) {
      const auto* later = link_of(o.key);
      const auto* earlier = link_of(o.other_key);
      if (!later || !earlier) continue;  // check_chain compared indexes, so both were read
      auto same = sf::compare_overlap(store_, *later, *earlier, o.first_offset, o.last_offset);
      if (!same) {
        problem(o.key, same.error());
      } else if (*same) {
        problem(o.key, fmt::format("offsets {}..{} are also held by {}, and the two differ: {}; two writers stored "
                                   "different data for the same offsets",
                                   o.first_offset, o.last_offset, o.other_key, **same));
      }
    }
  }

  /// Reads the whole segment: file and frame checksums, decompression, then every batch split
  /// from the frames with its CRC and offsets compared with the index.
  bool check_deep(const segment_object& s, const sf::segment_index& idx) {
    const std::string& key = s.object.key;
    auto bytes = store_.get(key);
    if (!bytes) {
      problem(key, bytes.error());
      return false;
    }
    if (bytes->size() != idx.file_size) {
      problem(key, fmt::format("read {} bytes, the listing said {}", bytes->size(), idx.file_size));
      return false;
    }
    // Frames one by one, so that a damaged frame does not hide the others.
    bool ok = true;
    for (std::uint32_t f = 0; f < idx.frames.size(); ++f) {
      const auto& fe = idx.frames[f];
      const byte_view stored = byte_view(*bytes).subspan(fe.file_offset, fe.stored_size);
      if (xxh3_of(stored) != fe.xxh3) {
        problem(key, fmt::format("frame {} checksum mismatch", f));
        ok = false;
        continue;
      }
      auto raw = sf::decode_frame(idx.header.codec, stored, fe.raw_size);
      if (!raw) {
        problem(key, fmt::format("frame {}: {}", f, raw.error().message));
        ok = false;
        continue;
      }
      ok = check_frame_batches(key, idx, f, shared_bytes(std::move(*raw))) && ok;
    }
    if (ok) {
      // Everything else (header, index, file checksum) in one go.
      auto whole = sf::parse_segment(*bytes);
      if (!whole) {
        std::string m = whole.error().message;
        if (m.rfind("segment: ", 0) == 0) m.erase(0, 9);
        problem(key, m);
        ok = false;
      }
    }
    return ok;
  }

  bool check_frame_batches(const std::string& key, const sf::segment_index& idx, std::uint32_t f, shared_bytes raw) {
    const auto& fe = idx.frames[f];
    protocol::batch_splitter splitter(raw);
    std::uint32_t n = 0;
    bool ok = true;
    for (;; ++n) {
      auto next = splitter.next();
      if (!next) {
        problem(key, fmt::format("frame {} batch {}: {}", f, n, next.error().message));
        return false;
      }
      if (!*next) break;
      const auto& b = **next;
      if (n >= fe.batch_count) {
        problem(key, fmt::format("frame {} holds more batches than its {} index entries", f, fe.batch_count));
        return false;
      }
      v_.batches += 1;
      const auto& e = idx.batches[fe.first_batch + n];
      const auto pos = static_cast<std::size_t>(b.bytes.data() - raw.data());
      if (pos != e.position || b.bytes.size() != e.size) {
        problem(key, fmt::format("frame {} batch at offset {} sits at {}+{}, the index says {}+{}", f, b.base_offset,
                                 pos, b.bytes.size(), e.position, e.size));
        ok = false;
      }
      // A compressed legacy entry names only its last offset: its first comes from its records.
      std::int64_t first = b.base_offset;
      if (b.magic != 2) {
        if (auto d = backup::describe_batch(b); d) {
          first = d->first_offset;
        } else {
          problem(key, fmt::format("frame {} batch at offset {}: {}", f, b.base_offset, d.error().message));
          ok = false;
        }
      }
      if (first != e.first_offset || b.last_offset != e.last_offset) {
        problem(key, fmt::format("frame {} batch {} holds offsets {}..{}, the index says {}..{}", f, n, first,
                                 b.last_offset, e.first_offset, e.last_offset));
        ok = false;
      }
      if (auto crc = protocol::check_batch_crc(b.bytes.view()); !crc) {
        problem(key, fmt::format("frame {} batch at offset {}: {}", f, b.base_offset, crc.error().message));
        ok = false;
      }
    }
    if (splitter.truncated() || splitter.position() != raw.size()) {
      problem(key, fmt::format("frame {} ends inside a batch (at byte {} of {})", f, splitter.position(), raw.size()));
      ok = false;
    }
    if (n != fe.batch_count) {
      problem(key, fmt::format("frame {} holds {} batches, its index {}", f, n, fe.batch_count));
      ok = false;
    }
    return ok;
  }

  static std::uint64_t xxh3_of(byte_view b) { return XXH3_64bits(b.data(), b.size()); }

  storage::object_store& store_;
  const sf::backup_paths& paths_;
  validate_options opts_;
  validation v_;
};

}  // namespace

kb::result<validation> validate_backup(storage::object_store& store, std::string_view backup_id,
                                       const validate_options& options) {
  if (auto r = require_backup(store, backup_id); !r) return fail(std::move(r.error()));
  const sf::backup_paths paths{std::string(backup_id)};
  validator v(store, paths, options);
  return v.run();
}

std::string validation_text(const validation& v) {
  std::string out;
  for (const auto& p : v.problems) out += fmt::format("problem: {}: {}\n", p.key, p.problem);
  out += fmt::format("{} segment{}, {} batch{} checked: ", v.segments, v.segments == 1 ? "" : "s", v.batches,
                     v.batches == 1 ? "" : "es");
  out += v.ok() ? std::string("OK\n")
                : fmt::format("{} problem{}\n", v.problems.size(), v.problems.size() == 1 ? "" : "s");
  return out;
}

}  // namespace kb::pipeline::inspect
