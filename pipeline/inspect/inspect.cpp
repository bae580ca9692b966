// Opening a backup location for list, describe and validate (see inspect.hpp).
#include "pipeline/inspect/inspect.hpp"

#include <filesystem>
#include <utility>

#include <fmt/format.h>

namespace kb::pipeline::inspect {

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

}  // namespace kb::pipeline::inspect
