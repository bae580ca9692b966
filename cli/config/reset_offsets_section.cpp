// `kafka-backup reset-offsets` configuration (see reset_offsets_section.hpp).
#include "cli/config/reset_offsets_section.hpp"

#include <limits>
#include <optional>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/config/reader.hpp"
#include "cli/config/sections.hpp"
#include "cli/config_file.hpp"

namespace kb::cli {
namespace {

using namespace config_detail;
namespace of = pipeline::offsets;

struct raw_section {
  std::optional<std::string> strategy;
  std::optional<std::int64_t> timestamp;
  std::optional<std::int64_t> offset;
};

void read_section(reader& r, const YAML::Node& node, const std::string& path, of::reset_request& q, raw_section& raw) {
  using node_t = YAML::Node;
  using path_t = std::string;
  r.read_map(node, path, {
      {"groups", [&](const node_t& v, const path_t& p) { assign(q.groups, r.string_list(v, p)); }},
      {"topics", [&](const node_t& v, const path_t& p) { assign(q.topics, r.string_list(v, p)); }},
      {"strategy", [&](const node_t& v, const path_t& p) {
         const auto text = r.string(v, p);
         if (!text) return;
         if (of::parse_strategy(*text)) {
           raw.strategy = *text;
         } else {
           r.error(v.Mark(), p, fmt::format("unknown value {}; allowed: to-earliest, to-latest, to-timestamp, to-offset",
                                            r.describe(v, p)));
         }
       }},
      {"timestamp", [&](const node_t& v, const path_t& p) {
         const auto text = r.string(v, p);
         if (!text) return;
         if (auto ms = parse_timestamp_ms(*text)) {
           raw.timestamp = *ms;
         } else {
           r.error(v.Mark(), p, fmt::format("{} is neither epoch milliseconds nor an RFC 3339 time (e.g. "
                                            "1736899200000 or 2025-01-15T00:00:00Z)",
                                            r.describe(v, p)));
         }
       }},
      {"offset", [&](const node_t& v, const path_t& p) {
         assign(raw.offset, r.integer<std::int64_t>(v, p, 0, std::numeric_limits<std::int64_t>::max()));
       }},
      {"dry_run", flag_field(r, q.dry_run)},
  });
}

/// Keys of a backup/restore config that reset-offsets does not use: accepted (one file can serve
/// both), with a warning.
handler ignored(reader& r) {
  return [&r](const YAML::Node& v, const std::string& p) { r.warn(v.Mark(), p, "ignored by reset-offsets"); };
}

}  // namespace

kb::result<reset_offsets_config> load_reset_offsets_text(std::string_view text, std::string_view source_name,
                                                         const env_lookup& env) {
  auto substituted = substitute_env(text, env, source_name);
  if (!substituted) return kb::fail(substituted.error());
  YAML::Node root;
  try {
    root = YAML::Load(substituted->text());
  } catch (const YAML::Exception& e) {
    // Never echo the text: it may hold a substituted secret.
    return kb::fail(kb::errc::config, fmt::format("{}:{}:{}: invalid YAML", source_name, e.mark.line + 1,
                                                  e.mark.column + 1));
  }
  reader r(*substituted, source_name);
  reset_offsets_config cfg;
  cfg.file = std::string(source_name);
  if (!root || !root.IsMap()) {
    return kb::fail(kb::errc::config, fmt::format("{}: the configuration must be a mapping with 'source:' and "
                                                  "'reset_offsets:' sections",
                                                  source_name));
  }
  raw_section raw;
  bool have_source = false;
  try {
    r.read_map(root, "", {
        {"source", [&](const YAML::Node& v, const std::string& p) {
           have_source = true;
           read_kafka(r, v, p, cfg.source);
         }},
        {"reset_offsets", [&](const YAML::Node& v, const std::string& p) { read_section(r, v, p, cfg.request, raw); }},
        {"logging", [&](const YAML::Node& v, const std::string& p) { read_logging(r, v, p, cfg.logging); }},
        {"mode", ignored(r)}, {"backup_id", ignored(r)}, {"storage", ignored(r)}, {"backup", ignored(r)},
        {"metrics", ignored(r)},
    });
    if (!have_source) {
      r.error(root.Mark(), "source", "is required (the cluster whose consumer groups are reset)");
    } else {
      validate_kafka(r, "source", cfg.source);
    }
    if (!r.seen("reset_offsets")) {
      r.error(root.Mark(), "reset_offsets", "is required (groups: [...], strategy: to-earliest|to-latest|...)");
    } else {
      auto& q = cfg.request;
      if (q.groups.empty()) r.error_at("reset_offsets.groups", "is required: name at least one consumer group");
      for (const auto& g : q.groups)
        if (g.empty()) r.error_at("reset_offsets.groups", "a group name is empty");
      if (!raw.strategy) {
        r.error_at("reset_offsets.strategy", "is required: to-earliest, to-latest, to-timestamp or to-offset");
      } else {
        q.how = *of::parse_strategy(*raw.strategy);
        if (q.how == of::strategy::to_timestamp && !raw.timestamp)
          r.error_at("reset_offsets.timestamp", "is required for strategy to-timestamp (RFC 3339 or epoch ms)");
        if (q.how == of::strategy::to_offset && !raw.offset)
          r.error_at("reset_offsets.offset", "is required for strategy to-offset");
        if (q.how != of::strategy::to_timestamp && raw.timestamp)
          r.warn_at("reset_offsets.timestamp", "ignored: only strategy to-timestamp uses it");
        if (q.how != of::strategy::to_offset && raw.offset)
          r.warn_at("reset_offsets.offset", "ignored: only strategy to-offset uses it");
      }
      q.timestamp_ms = raw.timestamp.value_or(0);
      q.offset = raw.offset.value_or(0);
    }
  } catch (const YAML::Exception& e) {
    r.error(e.mark, "", fmt::format("invalid YAML: {}", e.msg));
  }
  if (auto failed = r.outcome(); !failed) return kb::fail(std::move(failed.error()));
  cfg.warnings = std::move(r.warnings());
  return cfg;
}

kb::result<reset_offsets_config> load_reset_offsets_file(const std::string& path, const env_lookup& env) {
  auto text = read_config_file(path);
  if (!text) return kb::fail(std::move(text.error()));
  return load_reset_offsets_text(*text, path, env);
}

}  // namespace kb::cli
