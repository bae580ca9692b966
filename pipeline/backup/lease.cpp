#include "pipeline/backup/lease.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/uuid.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::backup {

namespace sf = storage::format;

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

std::string make_lease_owner() {
  return fmt::format("{}:{}:{}", host_name(), ::getpid(), random_uuid_text());
}

std::optional<owner_process> parse_lease_owner(std::string_view owner) {
  const auto first = owner.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = owner.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const std::string pid_text(owner.substr(first + 1, second - first - 1));
  char* end = nullptr;
  const long pid = std::strtol(pid_text.c_str(), &end, 10);
  if (end == pid_text.c_str() || *end != '\0' || pid <= 0) return std::nullopt;
  return owner_process{std::string(owner.substr(0, first)), static_cast<pid_t>(pid)};
}

bool holder_is_dead_local(const std::string& owner) {
  const auto holder = parse_lease_owner(owner);
  if (!holder || holder->host != host_name() || holder->pid == ::getpid()) return false;
  return ::kill(holder->pid, 0) != 0 && errno == ESRCH;
}

renewal_outcome classify_renewal(const result<sf::lease>& r) noexcept {
  if (r) return renewal_outcome::renewed;
  return r.error().is(errc::conflict) ? renewal_outcome::lost : renewal_outcome::retry;
}

result<void> lease_keeper::take(std::int64_t now_ms) {
  const std::string owner = make_lease_owner();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto l = sf::acquire_lease(store_, paths_, owner, now_ms, ttl_ms_);
    if (l) {
      lease_ = std::move(*l);
      last_renew_ = steady::now();
      return {};
    }
    if (!l.error().is(errc::conflict) || attempt > 0) return fail(std::move(l.error()));
    // Held: take it over only when its holder is a dead process on this very host.
    auto text = store_.get(paths_.lock());
    if (!text) return fail(std::move(l.error()));
    auto held = sf::parse_lease(as_text(*text));
    if (!held || !holder_is_dead_local(held->owner)) return fail(std::move(l.error()));
    log::warn("backup '{}': the lease of {} is left by a process that no longer runs on this host; taking it over",
              backup_id_, held->owner);
    if (auto r = store_.remove(paths_.lock()); !r) return fail(std::move(r.error()));
  }
  return fail(errc::internal, "lease acquisition fell through");
}

bool lease_keeper::renewal_due(steady::time_point now) const noexcept {
  return lease_ && now - last_renew_ >= std::chrono::milliseconds(ttl_ms_ / 3);
}

result<sf::lease> lease_keeper::renew(const sf::lease& ours, std::int64_t now_ms) const {
  return sf::renew_lease(store_, paths_, ours, now_ms, ttl_ms_);
}

renewal_outcome lease_keeper::renewed(result<sf::lease> r) {
  const auto outcome = classify_renewal(r);
  if (outcome == renewal_outcome::renewed) lease_ = std::move(*r);
  else if (outcome == renewal_outcome::retry) log::warn("backup: lease renewal failed ({}); retrying", r.error().message);
  return outcome;
}

void lease_keeper::release() {
  if (!lease_) return;
  if (auto r = sf::release_lease(store_, paths_, *lease_); !r)
    log::warn("backup: could not release the lease {}: {}", paths_.lock(), r.error().message);
  lease_.reset();
}

}  // namespace kb::pipeline::backup
