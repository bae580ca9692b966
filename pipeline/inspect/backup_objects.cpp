// The objects of one backup location grouped by topic and partition, and shared helpers of
// list, describe and validate.
#include "pipeline/inspect/backup_objects.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <fmt/chrono.h>

#include "storage/format/segment_chain.hpp"

namespace kb::pipeline::inspect {

namespace sf = storage::format;

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
namespace {

std::optional<std::int32_t> parse_partition(std::string_view s) {
  std::int32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < 0 || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

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
using sf::merge_gaps;

bool is_compacted(const sf::topic_manifest& t) {
  auto it = t.configs.find("cleanup.policy");
  return it != t.configs.end() && it->second.find("compact") != std::string::npos;
}

std::vector<std::string> topic_order(const sf::backup_manifest* m, const backup_objects& objs) {
  std::vector<std::string> names;
  if (m) names = m->topics;
  for (const auto& [name, t] : objs.topics)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

}  // namespace kb::pipeline::inspect
