// Token lifetimes sent by identity servers, turned into clock values without overflow.
#pragma once

#include <chrono>
#include <cstdint>

namespace kb {

/// Longer than any real credential lives; bounds what a server's number can make the clock arithmetic do
/// (a time_point counts nanoseconds in 64 bits: about 292 years).
inline constexpr std::int64_t max_token_lifetime_s = 10LL * 366 * 24 * 3600;

/// A lifetime in seconds as a server sent it (negative, huge or NaN included), clamped to [0, max_token_lifetime_s].
inline std::chrono::seconds bounded_lifetime(double s) {
  if (!(s > 0)) return std::chrono::seconds(0);  // also NaN
  if (s >= static_cast<double>(max_token_lifetime_s)) return std::chrono::seconds(max_token_lifetime_s);
  return std::chrono::seconds(static_cast<std::int64_t>(s));
}

inline std::chrono::seconds bounded_lifetime(std::int64_t s) {
  if (s <= 0) return std::chrono::seconds(0);
  return std::chrono::seconds(s < max_token_lifetime_s ? s : max_token_lifetime_s);
}

/// An absolute expiry in seconds since the epoch, clamped to [the epoch, now + max_token_lifetime_s].
template <class TimePoint>
TimePoint bounded_expiry(double epoch_s, TimePoint now) {
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const double latest = static_cast<double>(now_s) + static_cast<double>(max_token_lifetime_s);
  if (!(epoch_s > 0)) return TimePoint{};
  if (epoch_s >= latest) return now + std::chrono::seconds(max_token_lifetime_s);
  return TimePoint(std::chrono::seconds(static_cast<std::int64_t>(epoch_s)));
}

}  // namespace kb
