// `metrics:` and `logging:`, and the accepted-but-ignored OSO `offset_storage:` section.
#include "cli/config/json_util.hpp"
#include "cli/config/sections.hpp"

namespace kb::cli::config_detail {

namespace json = boost::json;

void read_metrics(reader& r, const YAML::Node& node, const std::string& path, metrics_config& m) {
  r.read_map(node, path, {
      {"enabled", [&](const YAML::Node& v, const std::string& p) { assign(m.enabled, r.boolean(v, p)); }},
      {"bind_address", [&](const YAML::Node& v, const std::string& p) {
         if (auto text = r.string(v, p)) {
           if (text->empty()) {
             r.error(v.Mark(), p, "must not be empty (e.g. 127.0.0.1, or 0.0.0.0 for all interfaces)");
           } else {
             m.bind_address = *text;
           }
         }
       }},
      {"port", [&](const YAML::Node& v, const std::string& p) {
         assign(m.port, r.integer<std::uint16_t>(v, p, 1, 65535));
       }},
      {"path", [&](const YAML::Node& v, const std::string& p) {
         if (auto text = r.string(v, p)) {
           if (text->empty() || text->front() != '/') {
             r.error(v.Mark(), p, fmt::format("must start with '/', not {}", r.describe(v, p)));
           } else {
             m.path = *text;
           }
         }
       }},
      {"keep_alive_seconds", [&](const YAML::Node& v, const std::string& p) {
         assign(m.keep_alive_seconds, r.integer<std::uint32_t>(v, p, 0, 86400 * 7));
       }},
      {"max_partition_labels", [&](const YAML::Node& v, const std::string& p) {
         assign(m.max_partition_labels, r.integer<std::uint32_t>(v, p, 0, 10000000));
       }},
      {"update_interval_ms", [&](const YAML::Node& v, const std::string& p) {
         (void)r.integer<std::uint32_t>(v, p, 0, 2147483647u);
         r.warn(v.Mark(), p, "has no effect: metrics are computed when scraped");
       }},
  });
}

void read_logging(reader& r, const YAML::Node& node, const std::string& path, logging_config& l) {
  r.read_map(node, path, {
      {"level", [&](const YAML::Node& v, const std::string& p) {
         if (auto lvl = r.enumeration(v, p, k_log_levels)) l.level = *lvl;
       }},
      {"format", [&](const YAML::Node& v, const std::string& p) {
         if (auto f = r.enumeration(v, p, k_log_formats)) l.format = *f;
       }},
  });
}

void read_offset_storage(reader& r, const YAML::Node& node, const std::string& path) {
  auto any = [&r](const YAML::Node& v, const std::string& p) { (void)r.string(v, p); };
  r.read_map(node, path, {
      {"backend", any}, {"db_path", any}, {"s3_key", any}, {"sync_interval_secs", any},
  });
  r.warn_at(path,
         "ignored: kafka-backup keeps its checkpoints in the backup set "
         "(topics/<topic>/<partition>/checkpoint.json), no local database is used");
}

json::object metrics_json(const metrics_config& m) {
  json::object metrics;
  metrics["enabled"] = m.enabled;
  metrics["bind_address"] = m.bind_address;
  metrics["port"] = m.port;
  metrics["path"] = m.path;
  metrics["keep_alive_seconds"] = m.keep_alive_seconds;
  metrics["max_partition_labels"] = m.max_partition_labels;
  return metrics;
}

json::object logging_json(const logging_config& l) {
  json::object logging;
  logging["level"] = l.level ? json::value(name_of(k_log_levels, *l.level)) : json::value(nullptr);
  logging["format"] = l.format ? json::value(name_of(k_log_formats, *l.format)) : json::value(nullptr);
  return logging;
}

}  // namespace kb::cli::config_detail
