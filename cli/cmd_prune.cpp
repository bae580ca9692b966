// `kafka-backup prune`: deletes whole old backup ids from a location by keep-last / max-age.
#include <chrono>
#include <ostream>

#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "pipeline/backup/lease.hpp"  // the backup's owner form, so a backup can tell a dead prune from a live one
#include "pipeline/inspect/inspect.hpp"
#include "pipeline/retention/prune.hpp"

namespace kb::cli {
int run_prune(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env) {
  apply_logging(args.global, nullptr);
  namespace rt = kb::pipeline::retention;
  rt::prune_policy policy;
  policy.keep_last = args.keep_last.value_or(0);
  policy.max_age_days = args.max_age_days;
  policy.dry_run = args.dry_run;
  if (auto ok = rt::check_policy(policy); !ok) return report(err, ok.error());
  auto store = kb::pipeline::inspect::open_location(
      args.path, [env](std::string_view name) { return env(name); });
  if (!store) return report(err, store.error());
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto r = rt::prune(**store, policy, now_ms, pipeline::backup::make_lease_owner());
  if (!r) return report(err, r.error());
  const std::string where = (*store)->describe();
  out << (args.format == "json" ? rt::prune_json(*r, where) : rt::prune_text(*r, where));
  out.flush();
  // Some backups could not be deleted: say so and exit with the first failure's code.
  for (const auto& d : r->decisions) {
    if (!d.failure) continue;
    print_error(err, fmt::format("prune: {} of the chosen backups could not be deleted (listed above); the next prune "
                                 "finishes them. First failure: backup '{}': {}",
                                 r->failed_count(), d.backup.backup_id, d.failure->message));
    return static_cast<int>(kb::exit_code_for(*d.failure));
  }
  return 0;
}

}  // namespace kb::cli
