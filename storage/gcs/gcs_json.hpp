// Reading members of the GCS JSON API's answers: a string (or number as text) and an object's size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace kb::storage::gcs {

/// The member as text (GCS sends some numbers as strings); empty if absent or of another type.
inline std::string string_member(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  return {};
}

/// The "size" member as a number; 0 if absent or not all digits.
inline std::uint64_t size_member(const boost::json::object& o) {
  const std::string text = string_member(o, "size");
  std::uint64_t out = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return 0;
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return out;
}

}  // namespace kb::storage::gcs
