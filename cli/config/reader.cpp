#include "cli/config/reader.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "cli/config.hpp"

namespace kb::cli::config_detail {

std::string reader::where(const YAML::Mark& mark) const {
  if (mark.is_null() || mark.pos < 0) return std::string(file_);
  const auto pos = text_.original_position(static_cast<std::size_t>(mark.pos));
  return fmt::format("{}:{}:{}", file_, pos.line, pos.column);
}

void reader::error(const YAML::Mark& mark, std::string_view path, std::string_view message) {
  if (path.empty()) {
    errors_.push_back(fmt::format("{}: {}", where(mark), message));
  } else {
    errors_.push_back(fmt::format("{}: {}: {}", where(mark), path, message));
  }
}

void reader::warn(const YAML::Mark& mark, std::string_view path, std::string_view message) {
  warnings_.push_back(fmt::format("{}: {}: {}", where(mark), path, message));
}

YAML::Mark reader::mark_of(std::string_view path) const {
  std::string p(path);
  while (true) {
    if (const auto it = marks_.find(p); it != marks_.end()) return it->second;
    const auto dot = p.rfind('.');
    if (dot == std::string::npos) return YAML::Mark::null_mark();
    p.resize(dot);
  }
}

std::string reader::describe(const YAML::Node& node, std::string_view path) const {
  if (is_secret_key(last_segment(path))) return "(value hidden: secret)";
  if (!node.IsScalar()) {
    return node.IsSequence() ? "a list" : node.IsMap() ? "a mapping" : "an empty value";
  }
  const auto mark = node.Mark();
  if (mark.pos >= 0) {
    const auto begin = static_cast<std::size_t>(mark.pos);
    const auto end = begin + std::max<std::size_t>(1, node.Scalar().size());
    if (const auto* span = text_.span_overlapping(begin, end)) {
      return fmt::format("the value of ${{{}}}", span->variable);
    }
  }
  std::string value = node.Scalar();
  if (value.size() > 80) value = value.substr(0, 77) + "...";
  return fmt::format("'{}'", value);
}

void reader::read_map(const YAML::Node& node, const std::string& path,
                      const std::vector<field>& fields) {
  if (!node || node.IsNull()) return;
  if (!node.IsMap()) {
    error(node.Mark(), path, fmt::format("must be a mapping of keys, not {}", describe(node, path)));
    return;
  }
  std::set<std::string> keys_seen;
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) {
      error(key.Mark(), path, "keys must be plain names");
      continue;
    }
    const std::string name = key.Scalar();
    const std::string key_path = child_path(path, name);
    if (!keys_seen.insert(name).second) {
      error(key.Mark(), key_path, "duplicate key (the later value would silently win)");
      continue;
    }
    const auto it = std::find_if(fields.begin(), fields.end(),
                                 [&](const field& f) { return f.name == name; });
    if (it == fields.end()) {
      unknown_key(key, key_path, name, fields);
      continue;
    }
    marks_[key_path] = key.Mark();
    it->fn(entry.second, key_path);
  }
}

std::optional<std::string> reader::string(const YAML::Node& node, const std::string& path) {
  if (node.IsNull()) return std::nullopt;
  if (!node.IsScalar()) {
    error(node.Mark(), path, fmt::format("must be a string, not {}", describe(node, path)));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<bool> reader::boolean(const YAML::Node& node, const std::string& path) {
  if (node.IsNull()) return std::nullopt;
  if (node.IsScalar()) {
    const std::string v = lower(node.Scalar());
    if (v == "true" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "no" || v == "off") return false;
  }
  error(node.Mark(), path, fmt::format("must be true or false, not {}", describe(node, path)));
  return std::nullopt;
}

std::optional<std::vector<std::string>> reader::string_list(const YAML::Node& node,
                                                            const std::string& path) {
  if (node.IsNull()) return std::vector<std::string>{};
  if (node.IsScalar()) return std::vector<std::string>{node.Scalar()};
  if (!node.IsSequence()) {
    error(node.Mark(), path, "must be a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::size_t index = 0;
  for (const auto& item : node) {
    const auto item_path = fmt::format("{}[{}]", path, index++);
    if (!item.IsScalar()) {
      error(item.Mark(), item_path, fmt::format("must be a string, not {}", describe(item, item_path)));
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

void reader::each_entry(const YAML::Node& node, const std::string& path, const entry_fn& fn) {
  if (!node || node.IsNull()) return;
  if (!node.IsMap()) {
    error(node.Mark(), path, fmt::format("must be a mapping, not {}", describe(node, path)));
    return;
  }
  std::set<std::string> keys_seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) {
      error(entry.first.Mark(), path, "keys must be scalars");
      continue;
    }
    const std::string entry_path = child_path(path, entry.first.Scalar());
    if (!keys_seen.insert(entry.first.Scalar()).second) {
      error(entry.first.Mark(), entry_path, "duplicate key");
      continue;
    }
    fn(entry.first, entry.second, entry_path);
  }
}

bool reader::looks_like_integer(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void reader::unknown_key(const YAML::Node& key, const std::string& key_path,
                         const std::string& name, const std::vector<field>& fields) {
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& f : fields) {
    const auto d = edit_distance(lower(name), f.name);
    if (d < best_distance) {
      best_distance = d;
      best = f.name;
    }
  }
  const std::size_t threshold = std::max<std::size_t>(2, name.size() / 3);
  if (!best.empty() && best_distance <= threshold) {
    error(key.Mark(), "", fmt::format("unknown key '{}'; did you mean '{}'?", key_path, best));
  } else {
    std::vector<std::string> names;
    names.reserve(fields.size());
    for (const auto& f : fields) names.emplace_back(f.name);
    error(key.Mark(), "", fmt::format("unknown key '{}'; valid keys here: {}", key_path,
                                      join(names, ", ")));
  }
}

handler string_field(reader& r, std::string& target) {
  return [&r, &target](const YAML::Node& v, const std::string& p) { assign(target, r.string(v, p)); };
}

handler optional_string_field(reader& r, std::optional<std::string>& target) {
  return [&r, &target](const YAML::Node& v, const std::string& p) { assign(target, r.string(v, p)); };
}

handler flag_field(reader& r, bool& target) {
  return [&r, &target](const YAML::Node& v, const std::string& p) { assign(target, r.boolean(v, p)); };
}

handler secret_field(reader& r, secret_value& target) {
  return [&r, &target](const YAML::Node& v, const std::string& p) {
    if (auto text = r.string(v, p)) target = secret_value(std::move(*text));
  };
}

}  // namespace kb::cli::config_detail
