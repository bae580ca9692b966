// The non-template parts of json_map.hpp: error paths and parsing.
#include "storage/format/json_map.hpp"

#include <boost/json/parse.hpp>

namespace kb::json_map {

std::string bad_field::path() const {
  std::string out;
  for (auto it = outward_.rbegin(); it != outward_.rend(); ++it) {
    if (!out.empty() && !it->starts_with('[')) out += '.';
    out += *it;
  }
  return out;
}

std::string bad_field::message(std::string_view doc) const {
  if (outward_.empty()) return fmt::format("{} {}", doc, problem_);
  return fmt::format("{}: field '{}' {}", doc, path(), problem_);
}

void reject(std::string field, std::string problem) {
  bad_field b(std::move(problem));
  b.nest(std::move(field));
  throw b;
}

object_reader::object_reader(const json::value& v) {
  if (!v.is_object()) throw bad_field("is not an object");
  o_ = &v.get_object();
}

kb::result<json::value> parse_object(std::string_view text, std::string_view doc) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return fail(errc::corrupt, fmt::format("{} is not valid JSON ({})", doc, ec.message()));
  if (!v.is_object()) return fail(errc::corrupt, fmt::format("{} is not a JSON object", doc));
  return v;
}

}  // namespace kb::json_map
