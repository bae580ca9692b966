#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <set>
#include <string>

namespace kb::log {
namespace {

std::atomic<level> g_level{level::info};
std::atomic<format> g_format{format::text};
std::mutex g_write_mutex;
std::mutex g_once_mutex;
std::set<std::string, std::less<>> g_once_keys;

constexpr std::string_view level_name(level lvl) noexcept {
  switch (lvl) {
    case level::error: return "error";
    case level::warn: return "warn";
    case level::info: return "info";
    case level::debug: return "debug";
  }
  return "info";
}

std::string utc_timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t seconds = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", text, millis);
}

}  // namespace

void set_level(level lvl) noexcept { g_level.store(lvl, std::memory_order_relaxed); }
void set_format(format f) noexcept { g_format.store(f, std::memory_order_relaxed); }
level current_level() noexcept { return g_level.load(std::memory_order_relaxed); }
format current_format() noexcept { return g_format.load(std::memory_order_relaxed); }
bool enabled(level lvl) noexcept { return lvl <= current_level(); }

bool parse_level(std::string_view text, level& out) noexcept {
  for (level lvl : {level::error, level::warn, level::info, level::debug}) {
    if (text == level_name(lvl)) {
      out = lvl;
      return true;
    }
  }
  return false;
}

bool parse_format(std::string_view text, format& out) noexcept {
  if (text == "text") out = format::text;
  else if (text == "json") out = format::json;
  else return false;
  return true;
}

bool first_time(std::string_view key) {
  const std::lock_guard lock(g_once_mutex);
  if (g_once_keys.find(key) != g_once_keys.end()) return false;
  g_once_keys.emplace(key);
  return true;
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string format_line(level lvl, std::string_view message) {
  if (current_format() == format::json)
    return fmt::format(R"({{"ts":"{}","level":"{}","msg":"{}"}})", utc_timestamp(), level_name(lvl),
                       json_escape(message));
  return fmt::format("{} {:5} {}", utc_timestamp(), level_name(lvl), message);
}

void write(level lvl, std::string_view message) {
  std::string line = format_line(lvl, message);
  line += '\n';
  const std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace kb::log
