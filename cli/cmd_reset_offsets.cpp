// `kafka-backup reset-offsets --config FILE`: moves consumer groups' committed offsets to the
// earliest/latest offset, a time or an offset (like kafka-consumer-groups.sh --reset-offsets).
#include <chrono>
#include <ostream>
#include <sstream>

#include <fmt/format.h>

#include "base/log.hpp"
#include "cli/command_support.hpp"
#include "cli/config/reset_offsets_section.hpp"
#include "pipeline/offsets/reset_offsets.hpp"

namespace kb::cli {
namespace {

/// The run itself; `summary` gets the counts, `failure` the error text printed.
int reset(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env, run_summary& summary,
          std::string& failure) {
  auto cfg = load_reset_offsets_file(args.config_path, env);
  if (!cfg) {
    failure = cfg.error().message;
    print_error(err, failure);
    return static_cast<int>(kb::exit_code::usage);
  }
  apply_logging(args.global, &cfg->logging);
  for (const auto& w : cfg->warnings) kb::log::warn("{}", w);
  auto opts = cluster_options_from(cfg->source, "source");
  if (!opts) {
    failure = opts.error().message;
    return report(err, opts.error());
  }
  auto request = cfg->request;
  request.dry_run = request.dry_run || args.dry_run;
  auto r = pipeline::offsets::run_reset(*opts, request);
  if (!r) {
    failure = r.error().message;
    return report(err, r.error());
  }
  summary.partitions = r->rows.size();
  out << (args.format == "json" ? pipeline::offsets::report_json(*r) : pipeline::offsets::report_text(*r));
  out.flush();
  return 0;
}

}  // namespace

int run_reset_offsets(const parsed_args& args, std::ostream& out, std::ostream& err, const env_lookup& env) {
  apply_logging(args.global, nullptr);
  run_summary s;
  s.command = "reset-offsets";
  std::string failure;
  const auto started = std::chrono::steady_clock::now();
  const int code = reset(args, out, err, env, s, failure);
  const auto path = summary_path(args.global.summary_file);
  if (!path) return code;
  s.exit_code = code;
  s.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!failure.empty()) {
    std::istringstream lines(failure);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) s.errors.push_back("error: " + line);
  }
  if (auto w = write_run_summary(*path, render_run_summary(s)); !w) kb::log::warn("{}", w.error().message);
  return code;
}

}  // namespace kb::cli
