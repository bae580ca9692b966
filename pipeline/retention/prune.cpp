// Retention over a backup location (see prune.hpp, docs/cli.md "prune").
#include "pipeline/retention/prune.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "base/log.hpp"
#include "pipeline/inspect/inspect.hpp"
#include "storage/format/json_text.hpp"
#include "storage/format/manifest.hpp"

namespace kb::pipeline::retention {

namespace sf = storage::format;
namespace json = boost::json;

namespace {

constexpr std::int64_t ms_per_day = 24LL * 60 * 60 * 1000;
// Our lease while deleting: long enough for a large backup on a slow store, renewed as we go.
constexpr std::int64_t lease_ttl_ms = 10LL * 60 * 1000;
constexpr std::size_t renew_every = 256;  // removals between two lease renewals

std::string when(std::int64_t ms) {
  if (ms < 0) return "-";
  const auto secs = static_cast<std::time_t>(ms / 1000);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(secs));
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

std::string age_text(std::int64_t now_ms, std::int64_t then_ms) {
  const double days = static_cast<double>(now_ms - then_ms) / static_cast<double>(ms_per_day);
  return fmt::format("{:.1f} days", std::max(0.0, days));
}

/// The lease in lock.json if it is still live at now_ms.
kb::result<std::optional<sf::lease>> live_lease(storage::object_store& store, const sf::backup_paths& paths,
                                                std::int64_t now_ms) {
  auto bytes = store.get(paths.lock());
  if (!bytes) {
    if (bytes.error().is(errc::not_found)) return std::optional<sf::lease>{};
    return fail(std::move(bytes.error()));
  }
  auto l = sf::parse_lease(as_text(*bytes));
  if (!l) {
    // A lease we cannot read is treated as held: deleting under a writer is the one thing prune must not do.
    sf::lease unknown;
    unknown.owner = fmt::format("(unreadable {}{})", paths.lock(), l ? "" : ": " + l.error().message);
    unknown.expires_ms = now_ms + 1;
    return std::optional<sf::lease>{std::move(unknown)};
  }
  if (l->expires_ms < now_ms) return std::optional<sf::lease>{};
  return std::optional<sf::lease>{std::move(*l)};
}

/// Removes every object of the backup, backup.json last but one and our lease last, renewing
/// the lease as it goes. The backup stays listed until backup.json goes, so a prune cut short
/// is finished by the next one.
kb::result<void> remove_backup(storage::object_store& store, const sf::backup_paths& paths, sf::lease ours) {
  auto objects = store.list(paths.root());
  if (!objects) return fail(std::move(objects.error()));
  const std::string manifest = paths.backup_manifest();
  const std::string lock = paths.lock();
  std::size_t since_renewal = 0;
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  for (const auto& o : *objects) {
    if (o.key == manifest || o.key == lock) continue;
    if (auto r = store.remove(o.key); !r) return fail(std::move(r.error()));
    if (++since_renewal >= renew_every) {
      auto renewed = sf::renew_lease(store, paths, ours, now(), lease_ttl_ms);
      if (!renewed) return fail(std::move(renewed.error()));
      ours = std::move(*renewed);
      since_renewal = 0;
    }
  }
  if (auto r = store.remove(manifest); !r) return fail(std::move(r.error()));
  return sf::release_lease(store, paths, ours);
}

}  // namespace

kb::result<void> check_policy(const prune_policy& policy) {
  if (policy.keep_last == 0 && !policy.max_age_days) {
    return fail(errc::invalid_argument,
                "--keep-last 0 without --max-age-days would delete every backup; keep at least one "
                "(--keep-last N) or give an age (--max-age-days D)");
  }
  return {};
}

std::vector<prune_decision> plan_prune(std::vector<prune_candidate> backups, const prune_policy& policy,
                                       std::int64_t now_ms) {
  // Newest first; unreadable ones (last_written_ms -1) sort last. Ties by id, for a stable output.
  std::sort(backups.begin(), backups.end(), [](const prune_candidate& a, const prune_candidate& b) {
    if (a.last_written_ms != b.last_written_ms) return a.last_written_ms > b.last_written_ms;
    return a.backup_id < b.backup_id;
  });
  std::vector<prune_decision> out;
  std::uint32_t readable_seen = 0;
  for (auto& b : backups) {
    prune_decision d;
    d.backup = std::move(b);
    const auto& c = d.backup;
    if (!c.problem.empty() || c.last_written_ms < 0) {
      d.reason = fmt::format("backup.json unreadable ({}); check it with 'kafka-backup validate'",
                             c.problem.empty() ? "no time recorded" : c.problem);
    } else if (readable_seen++ < policy.keep_last) {
      d.reason = fmt::format("one of the newest {} (--keep-last)", policy.keep_last);
    } else if (!c.lease_owner.empty()) {
      d.reason = fmt::format("a backup holds its lease ({} until {})", c.lease_owner, when(c.lease_expires_ms));
    } else if (policy.max_age_days &&
               now_ms - c.last_written_ms <= static_cast<std::int64_t>(*policy.max_age_days) * ms_per_day) {
      d.reason = fmt::format("last written {} ago, not older than {} days (--max-age-days)",
                             age_text(now_ms, c.last_written_ms), *policy.max_age_days);
    } else {
      d.verdict = prune_verdict::remove;
      d.reason = policy.max_age_days
                     ? fmt::format("last written {} ago, older than {} days", age_text(now_ms, c.last_written_ms),
                                   *policy.max_age_days)
                     : fmt::format("older than the newest {}", policy.keep_last);
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::uint64_t prune_report::removed_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& d : decisions) n += (dry_run ? d.verdict == prune_verdict::remove : d.deleted) ? 1 : 0;
  return n;
}

std::uint64_t prune_report::removed_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& d : decisions) n += (dry_run ? d.verdict == prune_verdict::remove : d.deleted) ? d.backup.size_bytes : 0;
  return n;
}

std::uint64_t prune_report::failed_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& d : decisions) n += d.failure ? 1 : 0;
  return n;
}

kb::result<prune_report> prune(storage::object_store& store, const prune_policy& policy, std::int64_t now_ms,
                               const std::string& owner) {
  if (auto ok = check_policy(policy); !ok) return fail(std::move(ok.error()));
  auto listed = inspect::list_backups(store);
  if (!listed) return fail(std::move(listed.error()));
  std::vector<prune_candidate> candidates;
  for (auto& b : *listed) {
    prune_candidate c;
    c.backup_id = b.backup_id;
    c.created_ms = b.created_ms;
    c.last_written_ms = b.problem.empty() ? std::max(b.created_ms, b.updated_ms) : -1;
    c.size_bytes = b.size_bytes;
    c.objects = b.objects;
    c.problem = b.problem;
    auto held = live_lease(store, sf::backup_paths{b.backup_id}, now_ms);
    if (!held) return fail(std::move(held.error()));
    if (*held) {
      c.lease_owner = (*held)->owner;
      c.lease_expires_ms = (*held)->expires_ms;
    }
    candidates.push_back(std::move(c));
  }
  prune_report report;
  report.dry_run = policy.dry_run;
  report.decisions = plan_prune(std::move(candidates), policy, now_ms);
  if (policy.dry_run) return report;

  for (auto& d : report.decisions) {
    if (d.verdict != prune_verdict::remove) continue;
    const sf::backup_paths paths{d.backup.backup_id};
    // The lease makes us the one writer while deleting; a backup that started since the
    // listing holds it, and then the backup is kept.
    auto ours = sf::acquire_lease(store, paths, owner, now_ms, lease_ttl_ms);
    if (!ours) {
      if (ours.error().is(errc::conflict)) {
        d.verdict = prune_verdict::keep;
        d.reason = fmt::format("a backup took its lease meanwhile: {}", ours.error().message);
      } else {
        d.failure = std::move(ours.error());
      }
      continue;
    }
    if (auto r = remove_backup(store, paths, *ours); !r) {
      kb::log::warn("prune: deleting backup '{}' stopped: {}", d.backup.backup_id, r.error().message);
      d.failure = std::move(r.error());
      (void)sf::release_lease(store, paths, *ours);  // best effort: the next prune or backup takes it after expiry
      continue;
    }
    d.deleted = true;
    kb::log::info("prune: deleted backup '{}' ({} objects, {})", d.backup.backup_id, d.backup.objects,
                  human_bytes(d.backup.size_bytes));
  }
  return report;
}

std::string prune_text(const prune_report& r, std::string_view where) {
  std::string out;
  for (const auto& d : r.decisions) {
    const auto& b = d.backup;
    std::string verb;
    if (d.failure) {
      verb = "FAILED to delete";
    } else if (d.verdict == prune_verdict::remove) {
      verb = r.dry_run ? "would delete" : "deleted";
    } else {
      verb = "kept";
    }
    out += fmt::format("{} {} (written {}, {} objects, {}): {}\n", verb, b.backup_id, when(b.last_written_ms),
                       b.objects, human_bytes(b.size_bytes), d.failure ? d.failure->message : d.reason);
  }
  const auto kept = r.decisions.size() - r.removed_count() - r.failed_count();
  out += fmt::format("prune {}: {} {} backup{} ({}), kept {}{}\n", where, r.dry_run ? "would delete" : "deleted",
                     r.removed_count(), r.removed_count() == 1 ? "" : "s", human_bytes(r.removed_bytes()), kept,
                     r.failed_count() ? fmt::format(", {} failed", r.failed_count()) : "");
  if (r.dry_run) out += "dry run: nothing was deleted\n";
  return out;
}

std::string prune_json(const prune_report& r, std::string_view where) {
  json::array deleted, kept, failed;
  for (const auto& d : r.decisions) {
    const auto& b = d.backup;
    json::object o{{"backup_id", b.backup_id},     {"created_ms", b.created_ms}, {"last_written_ms", b.last_written_ms},
                   {"size_bytes", b.size_bytes},   {"objects", b.objects},       {"reason", d.reason}};
    if (d.failure) {
      o["error"] = d.failure->message;
      failed.emplace_back(std::move(o));
    } else if (d.verdict == prune_verdict::remove) {
      deleted.emplace_back(std::move(o));
    } else {
      kept.emplace_back(std::move(o));
    }
  }
  json::object totals{{"deleted", r.removed_count()},
                      {"deleted_bytes", r.removed_bytes()},
                      {"kept", kept.size()},
                      {"failed", r.failed_count()}};
  return sf::json_text::pretty(json::object{{"location", where},
                                            {"dry_run", r.dry_run},
                                            {"deleted", std::move(deleted)},
                                            {"kept", std::move(kept)},
                                            {"failed", std::move(failed)},
                                            {"totals", std::move(totals)}});
}

}  // namespace kb::pipeline::retention
