#include "pipeline/backup/worker_marks.hpp"

#include <array>
#include <charconv>

#include <boost/describe/class.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include "pipeline/backup/lease.hpp"
#include "storage/format/json_map.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::backup {

namespace json = boost::json;
namespace sf = storage::format;

std::string workers_marker_key(const sf::backup_paths& paths) { return paths.root() + "workers.json"; }

std::string owner_key(const sf::backup_paths& paths, const net::topic_partition& tp) {
  return fmt::format("{}owners/{}/{}.json", paths.root(), tp.topic, tp.partition);
}

// The records as described structs (storage/format/json_map.hpp).
using json_map::tag_invoke;

BOOST_DESCRIBE_STRUCT(owner_term, (),
                      (member_id, instance_id, generation, assigned_ms, first_offset, next_offset, ended_ms))
BOOST_DESCRIBE_STRUCT(workers_marker, (), (group_id, member_id, generation, updated_ms, expires_ms))

// instance_id: dynamic members have none; the offsets and the end: absent in records of the
// first version (unknown).
static constexpr std::array<std::string_view, 1> json_omit_default(const owner_term* /*unused*/) { return {"instance_id"}; }
static constexpr std::array<std::string_view, 3> json_optional(const owner_term* /*unused*/) {
  return {"first_offset", "next_offset", "ended_ms"};
}

/// An owner record is its current term's members beside group_id and the earlier terms.
static void tag_invoke(json::value_from_tag /*tag*/, json::value& v, const partition_owner& o) {
  auto& j = v.emplace_object();
  j["group_id"] = o.group_id;
  json::value term = json::value_from(o.current());
  for (auto& kv : term.as_object()) j.emplace(kv.key(), std::move(kv.value()));
  j["history"] = json::value_from(o.history);
}

static partition_owner tag_invoke(json::value_to_tag<partition_owner> /*tag*/, const json::value& v) {
  const json_map::object_reader r(v);
  partition_owner out;
  r.required("group_id", out.group_id);
  const auto cur = json_map::read<owner_term>(v);
  out.member_id = cur.member_id;
  out.instance_id = cur.instance_id;
  out.generation = cur.generation;
  out.assigned_ms = cur.assigned_ms;
  out.first_offset = cur.first_offset;
  out.next_offset = cur.next_offset;
  out.ended_ms = cur.ended_ms;
  r.optional("history", out.history);
  return out;
}

std::vector<owner_term> partition_owner::terms() const {
  auto out = history;
  out.push_back(current());
  return out;
}

std::string to_json(const partition_owner& o) { return json::serialize(json::value_from(o)); }

std::string to_json(const workers_marker& m) { return json::serialize(json::value_from(m)); }

result<partition_owner> parse_partition_owner(std::string_view text) {
  return json_map::read_document<partition_owner>(text, "owner record");
}

result<workers_marker> parse_workers_marker(std::string_view text) {
  return json_map::read_document<workers_marker>(text, "workers.json");
}

result<void> refuse_if_workers_run(storage::object_store& store, const sf::backup_paths& paths, std::int64_t now_ms) {
  auto text = store.get(workers_marker_key(paths));
  if (!text) return text.error().is(errc::not_found) ? result<void>{} : fail(std::move(text.error()));
  auto m = parse_workers_marker(as_text(*text));
  if (!m || m->expires_ms <= now_ms) return {};  // unreadable or expired: no worker runs
  return fail(errc::conflict,
              fmt::format("backup '{}' is being written by the workers of group '{}' (last seen {} s ago, generation "
                          "{}): stop them, or give this run the same workers: section, or wait until {} expires "
                          "({} s)",
                          paths.backup_id, m->group_id, (now_ms - m->updated_ms) / 1000, m->generation,
                          workers_marker_key(paths), (m->expires_ms - now_ms + 999) / 1000));
}

result<void> refuse_if_lease_held(storage::object_store& store, const sf::backup_paths& paths, std::int64_t now_ms) {
  auto text = store.get(paths.lock());
  if (!text) return text.error().is(errc::not_found) ? result<void>{} : fail(std::move(text.error()));
  auto l = sf::parse_lease(as_text(*text));
  if (!l || l->expires_ms <= now_ms || holder_is_dead_local(l->owner)) return {};
  return fail(errc::conflict,
              fmt::format("backup '{}' is being written by a single-process backup ({} holds {}): stop it before "
                          "starting workers, or wait until its lease expires ({} s)",
                          paths.backup_id, l->owner, paths.lock(), (l->expires_ms - now_ms + 999) / 1000));
}

namespace {

/// The checkpoint's next offset, -1 without one (or an unreadable one: the term's range is then
/// unknown, which describe shows; the backup goes on).
std::int64_t checkpoint_next(storage::object_store& store, const sf::backup_paths& paths, const net::topic_partition& tp) {
  auto text = store.get(paths.checkpoint(tp.topic, tp.partition));
  if (!text) return -1;
  auto c = sf::parse_checkpoint(as_text(*text));
  return c ? c->next_offset : -1;
}

/// The stored record; nullopt when there is none or it is unreadable (then it is rewritten).
result<std::optional<partition_owner>> read_owner(storage::object_store& store, const std::string& key) {
  auto text = store.get(key);
  if (!text) {
    if (text.error().is(errc::not_found)) return std::optional<partition_owner>{};
    return fail(std::move(text.error()));
  }
  auto o = parse_partition_owner(as_text(*text));
  if (!o) return std::optional<partition_owner>{};
  return std::optional<partition_owner>{std::move(*o)};
}

}  // namespace

result<void> record_owner_start(storage::object_store& store, const sf::backup_paths& paths,
                                const net::topic_partition& tp, partition_owner o) {
  const auto key = owner_key(paths, tp);
  auto old = read_owner(store, key);
  if (!old) return fail(std::move(old.error()));
  o.history.clear();
  if (*old) {
    o.history = std::move((*old)->history);
    // The same member and generation again (an engine restarted within one generation): one term.
    if ((*old)->member_id != o.member_id || (*old)->generation != o.generation) o.history.push_back((*old)->current());
    if (o.history.size() > owner_history_max)
      o.history.erase(o.history.begin(), o.history.end() - static_cast<std::ptrdiff_t>(owner_history_max));
  }
  o.first_offset = checkpoint_next(store, paths, tp);
  o.next_offset = -1;
  o.ended_ms = 0;
  return store.put(key, as_bytes(to_json(o)));
}

result<void> record_owner_end(storage::object_store& store, const sf::backup_paths& paths,
                              const net::topic_partition& tp, std::string_view member_id, std::int32_t generation,
                              std::int64_t now_ms) {
  const auto key = owner_key(paths, tp);
  auto old = read_owner(store, key);
  if (!old) return fail(std::move(old.error()));
  if (!*old || (*old)->member_id != member_id || (*old)->generation != generation) return {};
  auto o = std::move(**old);
  o.next_offset = checkpoint_next(store, paths, tp);
  o.ended_ms = now_ms;
  return store.put(key, as_bytes(to_json(o)));
}

result<std::vector<std::pair<net::topic_partition, partition_owner>>> read_owners(storage::object_store& store,
                                                                                  const sf::backup_paths& paths) {
  const std::string root = paths.root() + "owners/";
  auto listing = store.list(root);
  if (!listing) return fail(std::move(listing.error()));
  std::vector<std::pair<net::topic_partition, partition_owner>> out;
  for (const auto& obj : *listing) {
    const std::string_view rest = std::string_view(obj.key).substr(root.size());
    const auto slash = rest.rfind('/');
    if (slash == std::string_view::npos || !rest.ends_with(".json")) continue;
    const std::string_view num_text = rest.substr(slash + 1, rest.size() - slash - 1 - 5);
    std::int32_t p = 0;
    auto [ptr, ec] = std::from_chars(num_text.data(), num_text.data() + num_text.size(), p);
    if (ec != std::errc{} || ptr != num_text.data() + num_text.size()) continue;
    auto text = store.get(obj.key);
    if (!text) continue;
    auto o = parse_partition_owner(as_text(*text));
    if (!o) continue;
    out.emplace_back(net::topic_partition{std::string(rest.substr(0, slash)), p}, std::move(*o));
  }
  return out;
}

}  // namespace kb::pipeline::backup
