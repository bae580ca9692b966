#include "pipeline/backup/worker_marks.hpp"

#include <charconv>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "pipeline/backup/lease.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::backup {

namespace json = boost::json;
namespace sf = storage::format;

namespace {

result<json::object> parse_object(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return fail(errc::corrupt, fmt::format("{}: not a JSON object", what));
  return std::move(v.as_object());
}

result<std::string> str(const json::object& o, std::string_view key, std::string_view what) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return fail(errc::corrupt, fmt::format("{}: '{}' missing or not a string", what, key));
  return std::string(v->as_string());
}

result<std::int64_t> num(const json::object& o, std::string_view key, std::string_view what) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_int64()) return fail(errc::corrupt, fmt::format("{}: '{}' missing or not an integer", what, key));
  return v->as_int64();
}

}  // namespace

std::string workers_marker_key(const sf::backup_paths& paths) { return paths.root() + "workers.json"; }

std::string owner_key(const sf::backup_paths& paths, const net::topic_partition& tp) {
  return fmt::format("{}owners/{}/{}.json", paths.root(), tp.topic, tp.partition);
}

namespace {

void put_term(json::object& j, const owner_term& t) {
  j["member_id"] = t.member_id;
  if (!t.instance_id.empty()) j["instance_id"] = t.instance_id;
  j["generation"] = t.generation;
  j["assigned_ms"] = t.assigned_ms;
  j["first_offset"] = t.first_offset;
  j["next_offset"] = t.next_offset;
  j["ended_ms"] = t.ended_ms;
}

std::int64_t opt_num(const json::object& o, std::string_view key, std::int64_t fallback) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : fallback;
}

std::string opt_str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

result<owner_term> parse_term(const json::object& o, std::string_view what) {
  owner_term t;
  auto m = str(o, "member_id", what);
  auto gen = num(o, "generation", what);
  auto at = num(o, "assigned_ms", what);
  if (!m) return fail(std::move(m.error()));
  if (!gen) return fail(std::move(gen.error()));
  if (!at) return fail(std::move(at.error()));
  t.member_id = std::move(*m);
  t.instance_id = opt_str(o, "instance_id");
  t.generation = static_cast<std::int32_t>(*gen);
  t.assigned_ms = *at;
  // Written by the first version without these: unknown.
  t.first_offset = opt_num(o, "first_offset", -1);
  t.next_offset = opt_num(o, "next_offset", -1);
  t.ended_ms = opt_num(o, "ended_ms", 0);
  return t;
}

}  // namespace

std::vector<owner_term> partition_owner::terms() const {
  auto out = history;
  out.push_back(current());
  return out;
}

std::string to_json(const partition_owner& o) {
  json::object j;
  j["group_id"] = o.group_id;
  put_term(j, o.current());
  json::array h;
  for (const auto& t : o.history) {
    json::object e;
    put_term(e, t);
    h.emplace_back(std::move(e));
  }
  j["history"] = std::move(h);
  return json::serialize(j);
}

std::string to_json(const workers_marker& m) {
  json::object j;
  j["group_id"] = m.group_id;
  j["member_id"] = m.member_id;
  j["generation"] = m.generation;
  j["updated_ms"] = m.updated_ms;
  j["expires_ms"] = m.expires_ms;
  return json::serialize(j);
}

result<partition_owner> parse_partition_owner(std::string_view text) {
  constexpr std::string_view what = "owner record";
  auto o = parse_object(text, what);
  if (!o) return fail(std::move(o.error()));
  partition_owner out;
  auto g = str(*o, "group_id", what);
  if (!g) return fail(std::move(g.error()));
  auto cur = parse_term(*o, what);
  if (!cur) return fail(std::move(cur.error()));
  out.group_id = std::move(*g);
  out.member_id = std::move(cur->member_id);
  out.instance_id = std::move(cur->instance_id);
  out.generation = cur->generation;
  out.assigned_ms = cur->assigned_ms;
  out.first_offset = cur->first_offset;
  out.next_offset = cur->next_offset;
  out.ended_ms = cur->ended_ms;
  if (const auto* h = o->if_contains("history")) {
    if (!h->is_array()) return fail(errc::corrupt, fmt::format("{}: 'history' is not an array", what));
    for (const auto& e : h->as_array()) {
      if (!e.is_object()) return fail(errc::corrupt, fmt::format("{}: a 'history' entry is not an object", what));
      auto t = parse_term(e.as_object(), "owner record history entry");
      if (!t) return fail(std::move(t.error()));
      out.history.push_back(std::move(*t));
    }
  }
  return out;
}

result<workers_marker> parse_workers_marker(std::string_view text) {
  constexpr std::string_view what = "workers.json";
  auto o = parse_object(text, what);
  if (!o) return fail(std::move(o.error()));
  workers_marker out;
  auto g = str(*o, "group_id", what);
  auto m = str(*o, "member_id", what);
  auto gen = num(*o, "generation", what);
  auto up = num(*o, "updated_ms", what);
  auto ex = num(*o, "expires_ms", what);
  if (!g) return fail(std::move(g.error()));
  if (!m) return fail(std::move(m.error()));
  if (!gen) return fail(std::move(gen.error()));
  if (!up) return fail(std::move(up.error()));
  if (!ex) return fail(std::move(ex.error()));
  out.group_id = std::move(*g);
  out.member_id = std::move(*m);
  out.generation = static_cast<std::int32_t>(*gen);
  out.updated_ms = *up;
  out.expires_ms = *ex;
  return out;
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
