#include "storage/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <fmt/format.h>

#include "storage/utc_time.hpp"

namespace kb::storage {

retry_policy::retry_policy(retry_settings settings, clock_fn now, std::uint64_t seed)
    : settings_(settings), now_(std::move(now)), rng_(seed), start_(now_()) {}

std::chrono::milliseconds retry_policy::elapsed() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now_() - start_);
}

std::optional<std::chrono::milliseconds> retry_policy::next_delay(
    std::optional<std::chrono::milliseconds> retry_after) {
  const int failed = attempts_++;
  if (settings_.max_attempts > 0 && attempts_ >= settings_.max_attempts) return std::nullopt;
  // Exponential growth capped at max_backoff; the delay is drawn from [cap/2, cap] so that many
  // clients that failed together do not come back together.
  const std::int64_t initial = std::max<std::int64_t>(1, settings_.initial_backoff.count());
  const std::int64_t cap_ms = std::max<std::int64_t>(1, settings_.max_backoff.count());
  const std::int64_t cap = std::min(cap_ms, initial << std::min(failed, 30));
  std::uniform_int_distribution<std::int64_t> jitter(std::max<std::int64_t>(1, cap / 2), cap);
  auto delay = std::chrono::milliseconds(jitter(rng_));
  if (retry_after && *retry_after > delay) delay = *retry_after;
  if (elapsed() + delay > settings_.budget) return std::nullopt;
  return delay;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(std::min<std::int64_t>(seconds, 86'400) * 1000);
  }
  // IMF-fixdate, the form HTTP/1.1 servers must send.
  std::tm tm{};
  const std::string text(value);
  const char* parsed = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0') return std::nullopt;
  const auto when = utc_time_point(tm);  // a date the clock cannot hold is no advice
  if (!when) return std::nullopt;
  const auto at = *when;
  if (at <= now) return std::chrono::milliseconds(0);
  return std::min(std::chrono::duration_cast<std::chrono::milliseconds>(at - now),
                  std::chrono::milliseconds(86'400'000));
}

std::string giving_up_text(int attempts, std::chrono::milliseconds elapsed) {
  return fmt::format("giving up after {} attempt{} over {:.1f} s", attempts, attempts == 1 ? "" : "s",
                     static_cast<double>(elapsed.count()) / 1000.0);
}

}  // namespace kb::storage
