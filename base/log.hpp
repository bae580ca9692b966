// Process-wide structured logging to stderr: levels error|warn|info|debug, text or JSON lines.
// Callers format with fmt; messages must never contain secrets or payload bytes.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace kb::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };
enum class format { text, json };

void set_level(level lvl) noexcept;
void set_format(format fmt) noexcept;
[[nodiscard]] level current_level() noexcept;
[[nodiscard]] format current_format() noexcept;
[[nodiscard]] bool enabled(level lvl) noexcept;

/// Parses "error", "warn", "info", "debug"; false when the text is none of them.
[[nodiscard]] bool parse_level(std::string_view text, level& out) noexcept;
[[nodiscard]] bool parse_format(std::string_view text, format& out) noexcept;

/// One log line without its newline, in the current format: `<ts> <level> <message>` or
/// `{"ts":…,"level":…,"msg":…}`. For callers that write to their own stream (the CLI's final error).
[[nodiscard]] std::string format_line(level lvl, std::string_view message);

/// Writes one line; thread-safe (one lock around the write, none around formatting).
void write(level lvl, std::string_view message);

template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::error)) write(level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::warn)) write(level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::info)) write(level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::debug)) write(level::debug, fmt::format(f, std::forward<Args>(args)...));
}

/// True the first time `key` is seen in this process, false afterwards (thread-safe): for
/// warnings that every connection would otherwise repeat.
[[nodiscard]] bool first_time(std::string_view key);

/// warn() once per process per `key`; later calls with the same key print nothing.
template <class... Args>
void warn_once(std::string_view key, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level::warn) && first_time(key)) write(level::warn, fmt::format(f, std::forward<Args>(args)...));
}

/// Escapes text for a JSON string literal (without the surrounding quotes).
[[nodiscard]] std::string json_escape(std::string_view text);

}  // namespace kb::log
