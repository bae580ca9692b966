#include "cli/config/text.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "cli/config.hpp"

namespace kb::cli {
namespace config_detail {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

std::string_view last_segment(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

}  // namespace config_detail

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool is_secret_key(std::string_view key) noexcept {
  const auto contains = [&](std::string_view part) { return key.find(part) != std::string_view::npos; };
  return contains("password") || contains("secret") || key == "session_token" ||
         key == "sas_token" || key == "account_key" || key == "customer_provided_key";
}

std::string normalize_prefix(std::string_view prefix) {
  std::string out;
  std::size_t i = 0;
  while (i < prefix.size()) {
    while (i < prefix.size() && prefix[i] == '/') ++i;
    const auto start = i;
    while (i < prefix.size() && prefix[i] != '/') ++i;
    if (i > start) {
      out.append(prefix.substr(start, i - start));
      out += '/';
    }
  }
  return out;
}

}  // namespace kb::cli
