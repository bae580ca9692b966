#include "cli/commands.hpp"

#include <ostream>
#include <string_view>

#include <fmt/format.h>

#include "base/log.hpp"
#include "cli/args.hpp"
#include "cli/command_support.hpp"
#include "cli/config.hpp"
#include "cli/preflight.hpp"

namespace kb::cli {

int run(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
        const env_lookup& env) {
  auto parsed = parse_args(argv);
  if (!parsed) {
    print_error(err, parsed.error().message);
    return static_cast<int>(kb::exit_code::usage);
  }
  const parsed_args& args = *parsed;
  apply_logging(args.global, nullptr);

  if (args.help) {
    out << (args.cmd == command::none ? usage_text() : command_usage(args.cmd));
    return 0;
  }
  if (args.version) {
    out << "kafka-backup " << KB_VERSION << '\n';
    return 0;
  }

  switch (args.cmd) {
    case command::config: {
      auto cfg = load(args, err, env);
      if (!cfg) return static_cast<int>(kb::exit_code::usage);
      // The same checks as the command of the config's mode, so `config` passes only what it runs.
      if (auto ok = check_runnable(*cfg); !ok) return report(err, ok.error());
      out << (args.format == "json" ? to_json(*cfg) : to_yaml(*cfg));
      return 0;
    }
    case command::backup:
    case command::restore: {
      auto cfg = load(args, err, env);
      if (!cfg) return static_cast<int>(kb::exit_code::usage);
      const auto wanted = args.cmd == command::backup ? run_mode::backup : run_mode::restore;
      if (cfg->mode != wanted) {
        print_error(err, fmt::format(
            "{}: mode is {} but the command is '{}'; set mode: {} or run 'kafka-backup "
            "{}'",
            cfg->file, to_string(cfg->mode), command_name(args.cmd), to_string(wanted),
            to_string(cfg->mode)));
        return static_cast<int>(kb::exit_code::usage);
      }
      if (auto ok = check_runnable(*cfg); !ok) return report(err, ok.error());
      return args.cmd == command::backup ? run_backup(*cfg, args, out, err)
                                         : run_restore(*cfg, args, out, err);
    }
    case command::list:
      return run_list(args, out, err, env);
    case command::describe:
      return run_describe(args, out, err, env);
    case command::validate:
      return run_validate(args, out, err, env);
    case command::none:
      break;
  }
  err << usage_text();
  return static_cast<int>(kb::exit_code::usage);
}

}  // namespace kb::cli
