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

std::string to_json(const partition_owner& o) {
  json::object j;
  j["group_id"] = o.group_id;
  j["member_id"] = o.member_id;
  j["generation"] = o.generation;
  j["assigned_ms"] = o.assigned_ms;
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
  auto m = str(*o, "member_id", what);
  auto gen = num(*o, "generation", what);
  auto at = num(*o, "assigned_ms", what);
  if (!g) return fail(std::move(g.error()));
  if (!m) return fail(std::move(m.error()));
  if (!gen) return fail(std::move(gen.error()));
  if (!at) return fail(std::move(at.error()));
  out.group_id = std::move(*g);
  out.member_id = std::move(*m);
  out.generation = static_cast<std::int32_t>(*gen);
  out.assigned_ms = *at;
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
