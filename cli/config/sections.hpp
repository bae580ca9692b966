// The configuration's sections: for each, the reader of its keys, its cross-field checks and
// its redacted rendering. Adding a key to a section is an edit in that section's file only
// (plus the field in cli/config.hpp): its field-table entry, its check, its rendering line.
#pragma once

#include <string>

#include <boost/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli/config.hpp"
#include "cli/config/reader.hpp"

namespace kb::cli::config_detail {

// kafka_section.cpp: `source:` / `target:`.
void read_kafka(reader& r, const YAML::Node& node, const std::string& path, kafka_config& k);
void validate_kafka(reader& r, const std::string& path, const kafka_config& k);
[[nodiscard]] boost::json::object kafka_json(const kafka_config& k);

// storage_section.cpp: `storage:`.
void read_storage(reader& r, const YAML::Node& node, const std::string& path, storage_config& s);
void validate_storage(reader& r, const storage_config& s);
[[nodiscard]] boost::json::object storage_json(const storage_config& s);

// backup_section.cpp: `backup:`.
void read_backup(reader& r, const YAML::Node& node, const std::string& path, backup_config& b);
void validate_backup(reader& r, job_kind mode, const backup_config& b);
[[nodiscard]] boost::json::object backup_json(const backup_config& b);

// restore_section.cpp: `restore:`.
void read_restore(reader& r, const YAML::Node& node, const std::string& path, restore_config& o);
void validate_restore(reader& r, restore_config& o);
[[nodiscard]] boost::json::object restore_json(const restore_config& o);

// service_sections.cpp: `metrics:`, `logging:`, and the accepted-but-ignored `offset_storage:`.
void read_metrics(reader& r, const YAML::Node& node, const std::string& path, metrics_config& m);
void read_logging(reader& r, const YAML::Node& node, const std::string& path, logging_config& l);
void read_offset_storage(reader& r, const YAML::Node& node, const std::string& path);
[[nodiscard]] boost::json::object metrics_json(const metrics_config& m);
[[nodiscard]] boost::json::object logging_json(const logging_config& l);

// workers_section.cpp: `workers:` (scale-out; absent = one process).
void read_workers(reader& r, const YAML::Node& node, const std::string& path, workers_config& w);
void validate_workers(reader& r, const workers_config& w, job_kind mode);
/// What a restore run by workers cannot use (a local state, repartitioning): config errors.
void validate_restore_workers(reader& r, const restore_config& c);
[[nodiscard]] boost::json::object workers_json(const workers_config& w);

}  // namespace kb::cli::config_detail
