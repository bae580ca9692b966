// Small text helpers shared by the configuration loader: case folding, joining, key paths, integers.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kb::cli::config_detail {

[[nodiscard]] std::string lower(std::string_view text);
[[nodiscard]] std::string join(const std::vector<std::string>& items, std::string_view sep);
/// `parent.key`, or `key` at the top level.
[[nodiscard]] std::string child_path(std::string_view parent, std::string_view key);
/// The last dotted segment of a key path (`storage.secret_key` -> `secret_key`).
[[nodiscard]] std::string_view last_segment(std::string_view path);

/// Whole-text decimal integer, an optional leading '+' allowed.
template <class T>
bool parse_integer(std::string_view text, T& out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto* first = text.data();
  const auto* last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, out);
  return ec == std::errc() && ptr == last;
}

}  // namespace kb::cli::config_detail
