#include "cli/command_support.hpp"

#include <ostream>
#include <string_view>

#include "base/log.hpp"

namespace kb::cli {


void print_error(std::ostream& err, std::string_view message) {
  std::size_t start = 0;
  while (start <= message.size()) {
    auto end = message.find('\n', start);
    if (end == std::string_view::npos) end = message.size();
    const auto line = message.substr(start, end - start);
    // Usage hints and "Run ..." lines stay unprefixed, as a shell user expects.
    if (line.rfind("usage: ", 0) == 0 || line.rfind("Run '", 0) == 0) {
      err << line << '\n';
    } else {
      err << "error: " << line << '\n';
    }
    start = end + 1;
  }
}

void apply_logging(const global_flags& flags, const logging_config* from_config) {
  if (flags.log_level) {
    kb::log::set_level(*flags.log_level);
  } else if (from_config && from_config->level) {
    kb::log::set_level(*from_config->level);
  }
  if (flags.log_format) {
    kb::log::set_format(*flags.log_format);
  } else if (from_config && from_config->format) {
    kb::log::set_format(*from_config->format);
  }
}

std::optional<config> load(const parsed_args& args, std::ostream& err, const env_lookup& env) {
  auto cfg = load_config_file(args.config_path, env);
  if (!cfg) {
    print_error(err, cfg.error().message);
    return std::nullopt;
  }
  apply_logging(args.global, &cfg->logging);
  for (const auto& warning : cfg->warnings) kb::log::warn("{}", warning);
  return std::move(*cfg);
}

int report(std::ostream& err, const kb::error& e) {
  print_error(err, e.message);
  return static_cast<int>(kb::exit_code_for(e));
}

}  // namespace kb::cli
