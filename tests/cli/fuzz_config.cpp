// libFuzzer target: the configuration loader (env substitution, YAML, every section's reader and
// validation) on arbitrary text. A config error is a value (exit 2); nothing may crash or hang.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const kb::cli::env_lookup env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "KB_FUZZ_SET") return std::string("value");
    return std::nullopt;
  };
  (void)kb::cli::load_config_text(text, "fuzz.yaml", env);
  return 0;
}
