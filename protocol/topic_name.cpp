#include "protocol/topic_name.hpp"

#include <fmt/format.h>

namespace kb::protocol {

std::optional<std::string> topic_name_problem(std::string_view name) {
  if (name.empty()) return std::string("it is empty");
  if (name == "." || name == "..") return std::string("'.' and '..' are reserved");
  if (name.size() > k_max_topic_name_length) {
    return fmt::format("it is {} characters long, at most {} are allowed", name.size(), k_max_topic_name_length);
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) {
      const auto code = static_cast<unsigned>(static_cast<unsigned char>(c));
      return fmt::format("character {} at position {} is not allowed; use only letters, digits, '.', '_' and '-'",
                         code >= 0x21 && code < 0x7f ? fmt::format("'{}'", c) : fmt::format("0x{:02x}", code), i + 1);
    }
  }
  return std::nullopt;
}

}  // namespace kb::protocol
