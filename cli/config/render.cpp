// The resolved configuration rendered as YAML or JSON: every key with its value or default,
// secrets as `***` (the sections' *_json functions decide what each shows).
#include <algorithm>
#include <array>
#include <charconv>

#include <boost/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli/config.hpp"
#include "cli/config/sections.hpp"

namespace kb::cli {
namespace {

using namespace config_detail;
namespace json = boost::json;

json::object config_json(const config& cfg) {
  json::object out;
  out["mode"] = to_string(cfg.mode);
  out["backup_id"] = cfg.backup_id;
  if (cfg.source) out["source"] = kafka_json(*cfg.source);
  if (cfg.target) out["target"] = kafka_json(*cfg.target);
  out["storage"] = storage_json(cfg.storage);
  if (cfg.mode == job_kind::backup) {
    out["backup"] = backup_json(cfg.backup);
  } else {
    out["restore"] = restore_json(cfg.restore);
  }
  out["metrics"] = metrics_json(cfg.metrics);
  out["logging"] = logging_json(cfg.logging);
  if (cfg.workers) out["workers"] = workers_json(*cfg.workers);
  return out;
}

/// Strings that YAML would read back as another type get double quotes.
bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  const std::string l = lower(s);
  static const std::array<std::string_view, 12> words{"true", "false", "yes", "no", "on", "off",
                                                      "y", "n", "null", "~", ".nan", ".inf"};
  if (std::find(words.begin(), words.end(), l) != words.end()) return true;
  double d = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && ptr == s.data() + s.size();
}

void emit_yaml(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: out << YAML::Null; break;
    case json::kind::bool_: out << v.get_bool(); break;
    case json::kind::int64: out << v.get_int64(); break;
    case json::kind::uint64: out << v.get_uint64(); break;
    case json::kind::double_: out << v.get_double(); break;
    case json::kind::string: {
      const std::string s(v.get_string());
      if (needs_quotes(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& item : a) emit_yaml(out, item);
      out << YAML::EndSeq;
      break;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      out << YAML::BeginMap;
      for (const auto& [key, item] : o) {
        out << YAML::Key << std::string(key) << YAML::Value;
        emit_yaml(out, item);
      }
      out << YAML::EndMap;
      break;
    }
  }
}

}  // namespace

std::string to_yaml(const config& cfg) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit_yaml(out, json::value(config_json(cfg)));
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

std::string to_json(const config& cfg) { return json::serialize(config_json(cfg)) + "\n"; }

}  // namespace kb::cli
