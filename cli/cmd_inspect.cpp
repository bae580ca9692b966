// `kafka-backup list`, `describe` and `validate`: read a backup location, never write it.
#include <ostream>

#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "pipeline/inspect/inspect.hpp"

namespace kb::cli {
namespace {

namespace in = kb::pipeline::inspect;

/// Usage errors caught before any storage is touched.
std::optional<int> check_flags(const parsed_args& args, std::ostream& err, bool needs_id, bool takes_format) {
  auto usage = [&](std::string message) {
    return report(err, kb::error{make_error_code(errc::invalid_argument),
                                 fmt::format("{}\nusage: {}", message, command_synopsis(args.cmd))});
  };
  if (args.path.empty()) return usage("--path is required (a directory, file:///abs/path or s3://bucket/prefix?...)");
  if (needs_id && args.backup_id.empty()) return usage("--backup-id is required");
  if (takes_format && !args.format.empty() && args.format != "text" && args.format != "json")
    return usage(fmt::format("--format must be text or json, not '{}'", args.format));
  return std::nullopt;
}

storage::env_lookup storage_env(const env_lookup& env) {
  return [env](std::string_view name) { return env(name); };
}

}  // namespace

int run_list(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env) {
  apply_logging(args.global, nullptr);
  if (auto bad = check_flags(args, err, false, true)) return *bad;
  auto store = in::open_location(args.path, storage_env(env));
  if (!store) return report(err, store.error());
  auto backups = in::list_backups(**store);
  if (!backups) return report(err, backups.error());
  out << (args.format == "json" ? in::list_json(*backups) : in::list_text(*backups, (*store)->describe()));
  return 0;
}

int run_describe(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env) {
  apply_logging(args.global, nullptr);
  if (auto bad = check_flags(args, err, true, true)) return *bad;
  auto store = in::open_location(args.path, storage_env(env));
  if (!store) return report(err, store.error());
  auto d = in::describe_backup(**store, args.backup_id);
  if (!d) return report(err, d.error());
  out << (args.format == "json" ? in::describe_json(*d) : in::describe_text(*d));
  return 0;
}

int run_validate(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env) {
  apply_logging(args.global, nullptr);
  if (auto bad = check_flags(args, err, true, false)) return *bad;
  auto store = in::open_location(args.path, storage_env(env));
  if (!store) return report(err, store.error());
  in::validate_options o;
  o.deep = args.deep;
  auto v = in::validate_backup(**store, args.backup_id, o);
  if (!v) return report(err, v.error());
  out << in::validation_text(*v);
  return v->ok() ? 0 : static_cast<int>(kb::exit_code::integrity);
}

}  // namespace kb::cli
