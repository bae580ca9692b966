// The loader: env substitution, YAML parsing, the top-level field table, and the checks that
// span sections. Errors are errc::config (exit 2), one `file:line:col: key: why` per line.
#include <regex>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/config.hpp"
#include "cli/config/reader.hpp"
#include "cli/config/sections.hpp"
#include "cli/config_file.hpp"

namespace kb::cli {
namespace {

using namespace config_detail;

void validate(reader& r, config& cfg, const YAML::Node& root) {
  if (!r.seen("mode")) {
    r.error(root.Mark(), "mode", "is required: backup or restore");
  }
  static const std::regex id_pattern("[A-Za-z0-9._-]+");
  if (!r.seen("backup_id")) {
    r.error(root.Mark(), "backup_id", "is required (letters, digits, '.', '_' and '-')");
  } else if (!std::regex_match(cfg.backup_id, id_pattern) || cfg.backup_id == "." ||
             cfg.backup_id == "..") {
    r.error_at("backup_id",
               fmt::format("'{}' is not a valid backup id: use only letters, digits, '.', '_' and "
                           "'-' (it names a folder in storage)",
                           cfg.backup_id.substr(0, 80)));
  }
  if (cfg.mode == job_kind::backup) {
    if (!cfg.source) {
      r.error(root.Mark(), "source", "is required for mode backup (the cluster to back up)");
    }
    if (cfg.target) r.warn_at("target", "ignored in mode backup (source: is the cluster read)");
  } else {
    if (!cfg.target) {
      r.error(root.Mark(), "target", "is required for mode restore (the cluster to restore into)");
    }
    if (cfg.source) r.warn_at("source", "ignored in mode restore (target: is the cluster written)");
  }
  if (cfg.source) validate_kafka(r, "source", *cfg.source);
  if (cfg.target) validate_kafka(r, "target", *cfg.target);

  if (!r.seen("storage")) {
    r.error(root.Mark(), "storage", "is required (e.g. storage: {backend: filesystem, path: ./kafka-backups})");
  } else {
    validate_storage(r, cfg.storage);
  }

  validate_backup(r, cfg.mode, cfg.backup);
  validate_restore(r, cfg.restore);
  if (cfg.workers) validate_workers(r, *cfg.workers, cfg.mode);
  if (cfg.workers && cfg.mode == job_kind::restore) validate_restore_workers(r, cfg.restore);
}

/// The YAML tree of the substituted text, or a located message that never echoes a secret.
kb::result<YAML::Node> parse_yaml(const substituted_text& substituted, std::string_view source_name) {
  try {
    return YAML::Load(substituted.text());
  } catch (const YAML::Exception& e) {
    std::string where(source_name);
    std::string message = e.msg;
    if (!e.mark.is_null() && e.mark.pos >= 0) {
      const auto offset = static_cast<std::size_t>(e.mark.pos);
      const auto pos = substituted.original_position(offset);
      where = fmt::format("{}:{}:{}", source_name, pos.line, pos.column);
      // The parser may have stopped inside a substituted value: never echo it.
      if (const auto* span = substituted.span_overlapping(offset > 0 ? offset - 1 : 0, offset + 1)) {
        message = fmt::format("the value of ${{{}}} is not valid YAML here; quote the reference, "
                              "e.g. key: \"${{{}}}\"",
                              span->variable, span->variable);
      }
    }
    return kb::fail(kb::errc::config, fmt::format("{}: invalid YAML: {}", where, message));
  }
}

/// The top level's keys, each handed to its section's reader.
void read_root(reader& r, const YAML::Node& root, config& cfg) {
  using node_t = YAML::Node;
  using path_t = std::string;
  r.read_map(root, "", {
      {"mode", enum_field(r, cfg.mode, k_modes)},
      {"backup_id", string_field(r, cfg.backup_id)},
      {"source", [&](const node_t& v, const path_t& p) {
         cfg.source.emplace();
         read_kafka(r, v, p, *cfg.source);
       }},
      {"target", [&](const node_t& v, const path_t& p) {
         cfg.target.emplace();
         read_kafka(r, v, p, *cfg.target);
       }},
      {"storage", [&](const node_t& v, const path_t& p) { read_storage(r, v, p, cfg.storage); }},
      {"backup", [&](const node_t& v, const path_t& p) { read_backup(r, v, p, cfg.backup); }},
      {"restore", [&](const node_t& v, const path_t& p) { read_restore(r, v, p, cfg.restore); }},
      {"metrics", [&](const node_t& v, const path_t& p) { read_metrics(r, v, p, cfg.metrics); }},
      {"logging", [&](const node_t& v, const path_t& p) { read_logging(r, v, p, cfg.logging); }},
      {"offset_storage", [&](const node_t& v, const path_t& p) { read_offset_storage(r, v, p); }},
      {"workers", [&](const node_t& v, const path_t& p) { read_workers(r, v, p, cfg.workers.emplace()); }},
  });
}

}  // namespace

kb::result<config> load_config_text(std::string_view text, std::string_view source_name,
                                    const env_lookup& env) {
  auto substituted = substitute_env(text, env, source_name);
  if (!substituted) return kb::fail(substituted.error());
  auto parsed = parse_yaml(*substituted, source_name);
  if (!parsed) return kb::fail(std::move(parsed.error()));
  const YAML::Node& root = *parsed;

  config cfg;
  cfg.file = std::string(source_name);
  reader r(*substituted, source_name);
  if (!root || root.IsNull()) {
    return kb::fail(kb::errc::config,
                    fmt::format("{}: the configuration is empty (needs at least mode, backup_id, "
                                "source or target, storage)",
                                source_name));
  }
  if (!root.IsMap()) {
    return kb::fail(kb::errc::config,
                    fmt::format("{}: the configuration must be a mapping of keys (mode, backup_id, "
                                "source, storage, ...)",
                                r.where(root.Mark())));
  }
  try {
    read_root(r, root, cfg);
    validate(r, cfg, root);
  } catch (const YAML::Exception& e) {
    // Node access should not throw after a successful parse; convert just in case.
    r.error(e.mark, "", fmt::format("invalid YAML: {}", e.msg));
  }

  if (auto failed = r.outcome(); !failed) return kb::fail(std::move(failed.error()));
  cfg.warnings = std::move(r.warnings());
  return cfg;
}

kb::result<config> load_config_file(const std::string& path, const env_lookup& env) {
  auto text = read_config_file(path);
  if (!text) return kb::fail(std::move(text.error()));
  return load_config_text(*text, path, env);
}

}  // namespace kb::cli
