// Calendar times that servers send (ISO 8601 stamps, HTTP dates) turned into clock values, refusing what the clock cannot hold.
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <string_view>

namespace kb::storage {

/// The years a server's date may name. The clock counts nanoseconds in 64 bits (1678-2262); a date outside
/// these years is a corrupt answer, and converting it would overflow.
inline constexpr int earliest_server_year = 1970;
inline constexpr int latest_server_year = 2200;

/// A broken-down UTC time as a clock value; nullopt when a field is out of its range (month 13, hour 24, ...)
/// or the year is outside [earliest_server_year, latest_server_year]. No normalisation: "Feb 30" is refused.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> utc_time_point(const std::tm& tm);

/// "2026-12-06T18:25:10Z", "…10.123Z" or "…10+00:00" (any number of fraction digits, milliseconds kept);
/// nullopt for anything else, including other offsets and out-of-range fields.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_iso8601_utc(std::string_view text);

}  // namespace kb::storage
