#include "storage/utc_time.hpp"

namespace kb::storage {
namespace {

bool leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month0) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month0 == 1 && leap(year) ? 29 : days[month0];
}

/// Exactly `width` decimal digits at the front of `text`, consumed.
std::optional<int> digits(std::string_view& text, std::size_t width) {
  if (text.size() < width) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  text.remove_prefix(width);
  return value;
}

bool separator(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> utc_time_point(const std::tm& tm) {
  const int year = tm.tm_year + 1900;
  if (year < earliest_server_year || year > latest_server_year) return std::nullopt;
  if (tm.tm_mon < 0 || tm.tm_mon > 11) return std::nullopt;
  if (tm.tm_mday < 1 || tm.tm_mday > days_in_month(year, tm.tm_mon)) return std::nullopt;
  if (tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59) return std::nullopt;
  if (tm.tm_sec < 0 || tm.tm_sec > 60) return std::nullopt;  // 60: a leap second
  std::tm copy = tm;
  return std::chrono::system_clock::from_time_t(::timegm(&copy));
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text) {
  std::tm tm{};
  const auto year = digits(text, 4);
  if (!year || !separator(text, '-')) return std::nullopt;
  const auto month = digits(text, 2);
  if (!month || !separator(text, '-')) return std::nullopt;
  const auto day = digits(text, 2);
  if (!day || !separator(text, 'T')) return std::nullopt;
  const auto hour = digits(text, 2);
  if (!hour || !separator(text, ':')) return std::nullopt;
  const auto minute = digits(text, 2);
  if (!minute || !separator(text, ':')) return std::nullopt;
  const auto second = digits(text, 2);
  if (!second) return std::nullopt;
  std::chrono::milliseconds fraction{0};
  if (separator(text, '.')) {
    int count = 0;
    int ms = 0;
    while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
      if (count < 3) ms = ms * 10 + (text.front() - '0');
      ++count;
      text.remove_prefix(1);
    }
    if (count == 0) return std::nullopt;
    for (int d = count; d < 3; ++d) ms *= 10;
    fraction = std::chrono::milliseconds(ms);
  }
  if (text != "Z" && text != "+00:00") return std::nullopt;
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  const auto at = utc_time_point(tm);
  if (!at) return std::nullopt;
  return *at + fraction;
}

}  // namespace kb::storage
