// Indented JSON text for the manifests and for `describe --format json`: Boost.JSON serializes
// on one line, people read these files.
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace kb::storage::format::json_text {

/// Two-space indentation, one member per line, a final newline; empty arrays/objects stay `[]`/`{}`.
[[nodiscard]] std::string pretty(const boost::json::value& v);

}  // namespace kb::storage::format::json_text
