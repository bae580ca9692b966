// `restore.time_window_*`: epoch milliseconds or RFC 3339, calendar arithmetic by std::chrono.
#include <algorithm>
#include <chrono>

#include "cli/config.hpp"
#include "cli/config/text.hpp"

namespace kb::cli {
namespace {

/// `n` decimal digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

/// `YYYY-MM-DD` at the start of `s`; nullopt for a malformed or impossible date (2025-02-29).
std::optional<std::chrono::sys_days> parse_date(std::string_view s) {
  int year = 0, month = 0, day = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days{date};
}

/// `.fff…` at `pos` (any number of digits, milliseconds kept); moves `pos` past it.
bool parse_fraction(std::string_view s, std::size_t& pos, std::chrono::milliseconds& millis) {
  if (pos >= s.size() || s[pos] != '.') return true;
  ++pos;
  int scale = 100;
  std::int64_t ms = 0;
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    ms += (s[pos] - '0') * scale;
    scale /= 10;
    ++pos;
  }
  millis = std::chrono::milliseconds{ms};
  return pos != start;
}

/// `Z` or `+hh:mm` / `-hh:mm` ending the text at `pos`: the offset east of UTC.
std::optional<std::chrono::minutes> parse_zone(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return std::nullopt;  // RFC 3339 needs a zone
  if (s[pos] == 'Z' || s[pos] == 'z') {
    if (pos + 1 != s.size()) return std::nullopt;
    return std::chrono::minutes{0};
  }
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  int oh = 0, om = 0;
  if (s.size() != pos + 6 || !digits(s, pos + 1, 2, oh) || s[pos + 3] != ':' ||
      !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
    return std::nullopt;
  }
  return std::chrono::minutes{(oh * 60 + om) * (s[pos] == '+' ? 1 : -1)};
}

/// `Thh:mm:ss[.fff](Z|±hh:mm)` after the date: the time since midnight UTC of that date.
std::optional<std::chrono::milliseconds> parse_time_of_day(std::string_view s) {
  const char sep = s[10];
  if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
  int hour = 0, minute = 0, second = 0;
  if (!digits(s, 11, 2, hour) || s.size() < 19 || s[13] != ':' || !digits(s, 14, 2, minute) ||
      s[16] != ':' || !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  if (second == 60) second = 59;  // leap second: the last representable millisecond range
  std::size_t pos = 19;
  std::chrono::milliseconds millis{0};
  if (!parse_fraction(s, pos, millis)) return std::nullopt;
  const auto zone = parse_zone(s, pos);
  if (!zone) return std::nullopt;
  return std::chrono::hours{hour} + std::chrono::minutes{minute} + std::chrono::seconds{second} +
         millis - *zone;
}

}  // namespace

std::optional<std::int64_t> parse_timestamp_ms(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t ms = 0;
    if (!config_detail::parse_integer(s, ms)) return std::nullopt;
    return ms;
  }
  const auto date = parse_date(s);
  if (!date) return std::nullopt;
  std::chrono::milliseconds time_of_day{0};
  if (s.size() > 10) {
    const auto t = parse_time_of_day(s);
    if (!t) return std::nullopt;
    time_of_day = *t;
  }
  const std::chrono::sys_time<std::chrono::milliseconds> at = *date + time_of_day;
  return at.time_since_epoch().count();
}

}  // namespace kb::cli
