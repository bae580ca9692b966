// Rendering helpers for the resolved configuration: secrets as `***`, absent values as null.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "cli/config.hpp"

namespace kb::cli::config_detail {

/// `***` for a set secret, "" for an empty one: shows that a value is there, never what.
[[nodiscard]] inline boost::json::value secret_json(const secret_value& s) {
  if (s.empty()) return boost::json::value("");
  return boost::json::value("***");
}

template <class T>
[[nodiscard]] boost::json::value optional_json(const std::optional<T>& v) {
  if (!v) return nullptr;
  return boost::json::value_from(*v);
}

[[nodiscard]] inline boost::json::array strings_json(const std::vector<std::string>& items) {
  boost::json::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

}  // namespace kb::cli::config_detail
