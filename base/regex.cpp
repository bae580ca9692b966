#include "base/regex.hpp"

#include <optional>
#include <string>

#include <fmt/format.h>

namespace kb {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

/// The digits starting at `i` (possibly none), and whether they stay within max_regex_number.
struct number_run {
  std::size_t length = 0;
  bool fits = true;
};

number_run read_number(std::string_view p, std::size_t i) {
  number_run n;
  int value = 0;
  while (i + n.length < p.size() && digit(p[i + n.length])) {
    if (n.fits) {
      value = value * 10 + (p[i + n.length] - '0');
      n.fits = value <= max_regex_number;
    }
    ++n.length;
  }
  return n;
}

std::optional<std::string> number_problem(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      const auto n = read_number(p, i + 1);
      if (!n.fits) {
        return fmt::format("the back-reference '\\{}' is above {}", p.substr(i + 1, std::min<std::size_t>(n.length, 12)),
                           max_regex_number);
      }
      i += n.length > 0 ? n.length : 1;  // the escaped character is never a quantifier
    } else if (p[i] == '{') {
      std::size_t j = i + 1;
      for (int part = 0; part < 2; ++part) {  // {m}, {m,} or {m,n}
        const auto n = read_number(p, j);
        if (!n.fits) {
          return fmt::format("the repeat count '{}' is above {}", p.substr(i, std::min<std::size_t>(j + n.length - i, 24)),
                             max_regex_number);
        }
        j += n.length;
        if (j >= p.size() || p[j] != ',') break;
        ++j;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

result<std::regex> compile_regex(std::string_view pattern) {
  if (auto problem = number_problem(pattern)) return fail(errc::config, *problem);
  try {
    return std::regex(std::string(pattern), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return fail(errc::config, e.what());
  }
}

}  // namespace kb
