// Indented JSON text (see json_text.hpp).
#include "storage/format/json_text.hpp"

#include <boost/json/serialize.hpp>

namespace kb::storage::format::json_text {

namespace {

void write(std::string& out, const boost::json::value& v, int depth) {
  const auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 2, ' '); };
  if (v.is_object() && !v.as_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : v.as_object()) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      out += boost::json::serialize(boost::json::value(kv.key()));
      out += ": ";
      write(out, kv.value(), depth + 1);
    }
    out += '\n';
    indent(depth);
    out += '}';
  } else if (v.is_array() && !v.as_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& e : v.as_array()) {
      if (!first) out += ",\n";
      first = false;
      indent(depth + 1);
      write(out, e, depth + 1);
    }
    out += '\n';
    indent(depth);
    out += ']';
  } else {
    out += boost::json::serialize(v);
  }
}

}  // namespace

std::string pretty(const boost::json::value& v) {
  std::string out;
  write(out, v, 0);
  out += '\n';
  return out;
}

}  // namespace kb::storage::format::json_text
