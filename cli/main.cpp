// kafka-backup: command-line entry point; the program itself is kb::cli::run (cli/commands.hpp).
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args;
  args.reserve(static_cast<std::size_t>(argc > 0 ? argc - 1 : 0));
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return kb::cli::run(args, std::cout, std::cerr, kb::cli::process_environment());
}
