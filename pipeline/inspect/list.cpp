// inspect list: the backup sets of a location, as text or JSON.
#include "pipeline/inspect/inspect.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include <boost/describe/class.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "pipeline/inspect/backup_objects.hpp"
#include "storage/format/json_map.hpp"
#include "storage/format/json_text.hpp"

namespace kb::pipeline::inspect {

namespace sf = storage::format;
namespace json = boost::json;

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

// The JSON of `list --format json` (docs/describe-json.md); updated_ms stays out of it, problem
// appears only for a set whose backup.json could not be read.
using json_map::tag_invoke;

BOOST_DESCRIBE_STRUCT(backup_listing, (), (backup_id, created_ms, topics, size_bytes, objects, problem))

static constexpr std::array<std::string_view, 1> json_omit_default(const backup_listing* /*unused*/) { return {"problem"}; }

std::string list_json(const std::vector<backup_listing>& backups) {
  return sf::json_text::pretty(json::object{{"backups", json::value_from(backups)}});
}

}  // namespace kb::pipeline::inspect
