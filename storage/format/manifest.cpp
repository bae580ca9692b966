// backup.json, topic.json, checkpoint.json, groups/{epoch_ms}.json and lock.json as described structs,
// the key layout of a backup set, and the writer's lease.
#include "storage/format/manifest.hpp"

#include <charconv>
#include <utility>

#include <boost/describe/class.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "storage/format/json_map.hpp"
#include "storage/format/json_text.hpp"
#include "storage/format/manifest_json.hpp"
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
// The documents: described in manifest_json.hpp, converted by json_map.hpp.

/// backup.json's version, read before the rest so that a newer document is "unsupported", not
/// "corrupt" (outside the unnamed namespace: json_map's tag_invoke is found by ADL here).
struct versioned {
  std::uint32_t format_version = 0;
};
BOOST_DESCRIBE_STRUCT(versioned, (), (format_version))

namespace {

template <class T>
std::string text_of(const T& doc) {
  return json_text::pretty(json::value_from(doc));
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// backup.json

std::string to_json(const backup_manifest& m) { return text_of(m); }

kb::result<backup_manifest> parse_backup_manifest(std::string_view text) {
  constexpr std::string_view doc = "backup.json";
  auto v = json_map::parse_object(text, doc);
  if (!v) return fail(std::move(v.error()));
  auto version = json_map::convert<versioned>(*v, doc);
  if (!version) return fail(std::move(version.error()));
  if (version->format_version != segment_format_version)
    return fail(errc::unsupported, fmt::format("{}: format_version {}; this kafka-backup reads version {}: use a newer "
                                               "kafka-backup", doc, version->format_version, segment_format_version));
  return json_map::convert<backup_manifest>(*v, doc, [](const backup_manifest& m) {
    if (m.backup_id.empty()) json_map::reject("backup_id", "is empty");
    if (m.compression != "none" && m.compression != "lz4" && m.compression != "zstd")
      json_map::reject("compression", fmt::format("is '{}', not none, lz4 or zstd", m.compression));
  });
}

// -------------------------------------------------------------------------------------------------
// topic.json

std::string to_json(const topic_manifest& m) { return text_of(m); }

kb::result<topic_manifest> parse_topic_manifest(std::string_view text) {
  return json_map::read_document<topic_manifest>(text, "topic.json", [](const topic_manifest& m) {
    if (m.name.empty()) json_map::reject("name", "is empty");
    if (m.partition_count < 0) json_map::reject("partition_count", "is negative");
  });
}

// -------------------------------------------------------------------------------------------------
// checkpoint.json

std::string to_json(const partition_checkpoint& c) { return text_of(c); }

kb::result<partition_checkpoint> parse_checkpoint(std::string_view text) {
  return json_map::read_document<partition_checkpoint>(text, "checkpoint.json", [](const partition_checkpoint& c) {
    if (c.topic.empty()) json_map::reject("topic", "is empty");
    if (c.partition < 0) json_map::reject("partition", "is negative");
    if (c.next_offset < 0) json_map::reject("next_offset", "is negative");
    if (!c.last_segment.empty() && !parse_segment_file_name(c.last_segment))
      json_map::reject("last_segment", fmt::format("'{}' is not a segment key", c.last_segment));
    for (std::size_t i = 0; i < c.gaps.size(); ++i)
      if (c.gaps[i].first_offset < 0 || c.gaps[i].first_offset > c.gaps[i].last_offset)
        json_map::reject(fmt::format("gaps[{}]", i),
                         fmt::format("runs {}..{}", c.gaps[i].first_offset, c.gaps[i].last_offset));
  });
}

// -------------------------------------------------------------------------------------------------
// groups/{epoch_ms}.json

std::string to_json(const group_snapshot& g) { return text_of(g); }

kb::result<group_snapshot> parse_group_snapshot(std::string_view text) {
  return json_map::read_document<group_snapshot>(text, "group snapshot");
}

// -------------------------------------------------------------------------------------------------
// lock.json and the lease

std::string to_json(const lease& l) { return text_of(l); }

kb::result<lease> parse_lease(std::string_view text) {
  return json_map::read_document<lease>(text, "lock.json", [](const lease& l) {
    if (l.owner.empty()) json_map::reject("owner", "is empty");
  });
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
