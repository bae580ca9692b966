// What the subcommands share: error printing, config loading with logging applied, the mapping of
// the config onto connection options and a storage backend, and each subcommand's entry point.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "cli/args.hpp"
#include "cli/config.hpp"
#include "cli/env_subst.hpp"
#include "cli/run_summary.hpp"
#include "net/cluster.hpp"
#include "storage/object_store.hpp"

namespace kb::cli {

/// Prints each line of an error message prefixed with `error: ` (usage lines unprefixed).
void print_error(std::ostream& err, std::string_view message);

/// Prints a project error and returns its exit code (DESIGN.md §2).
int report(std::ostream& err, const kb::error& e);

/// Applies --log-level/--log-format, falling back to the config's `logging:` section.
void apply_logging(const global_flags& flags, const logging_config* from_config);

/// Loads the config, logs its warnings, and reports errors. Returns nullopt after printing.
std::optional<config> load(const parsed_args& args, std::ostream& err, const env_lookup& env);

/// Maps a `source:` or `target:` section (named by `section` in messages) onto cluster options.
/// The TLS context is built here, so a missing CA, certificate or key file is a configuration
/// error before any connection starts, and every broker connection shares it.
kb::result<net::cluster_options> cluster_options_from(const kafka_config& k, std::string_view section);

/// Opens the `storage:` section's backend (filesystem or S3 with credentials and SSE).
kb::result<std::unique_ptr<storage::object_store>> open_config_store(const storage_config& sc);

/// 1536 -> "1.5 KiB": sizes in progress lines and summaries.
std::string human_bytes(double bytes);

/// `kafka-backup backup` with a loaded config whose mode is backup.
/// `summary`, when given, receives the counts for the run summary.
int run_backup(const config& cfg, const parsed_args& args, std::ostream& out, std::ostream& err,
               run_summary* summary = nullptr);
/// `kafka-backup restore` with a loaded config whose mode is restore.
int run_restore(const config& cfg, const parsed_args& args, std::ostream& out, std::ostream& err,
                run_summary* summary = nullptr);
/// `kafka-backup list --path URL`.
int run_list(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env);
/// `kafka-backup describe --path URL --backup-id ID [--format text|json]`.
int run_describe(const parsed_args& args, std::ostream& out, std::ostream& err,
                 const env_lookup& env);
/// `kafka-backup validate --path URL --backup-id ID [--deep]`.
int run_validate(const parsed_args& args, std::ostream& out, std::ostream& err,
                 const env_lookup& env);
/// `kafka-backup prune --path URL --keep-last N [--max-age-days D] [--dry-run]`.
int run_prune(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env);
/// `kafka-backup reset-offsets --config FILE [--dry-run] [--format text|json]`.
int run_reset_offsets(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env);

}  // namespace kb::cli
