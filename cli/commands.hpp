// The `kafka-backup` program as a function: parses arguments, sets up logging, runs a
// subcommand and returns the process exit code (DESIGN.md §2). main() only forwards to it.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/env_subst.hpp"

namespace kb::cli {

/// Runs the program with `args` (without the program name). Normal output goes to `out`,
/// errors and usage hints to `err`; log lines (config warnings) go to the process log (stderr).
/// Returns 0, 1 (runtime failure), 2 (usage/config), 3 or 4.
[[nodiscard]] int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      const env_lookup& env);

}  // namespace kb::cli
