// User-written regular expressions compiled with std::regex, after refusing the numbers libstdc++ cannot read safely.
#pragma once

#include <regex>
#include <string_view>

#include "base/error.hpp"

namespace kb {

/// Repeat counts (`{m,n}`) and back-reference numbers (`\N`) above this are refused: libstdc++ 12 reads
/// them into a `long` without an overflow check (a fuzzed config's `\8888…` was undefined behaviour), and
/// large counts build automata of millions of states. Topic patterns never need more.
inline constexpr int max_regex_number = 1000;

/// An ECMAScript std::regex of `pattern`; errc::config with the reason otherwise (std::regex's own text,
/// or which number is too large).
[[nodiscard]] result<std::regex> compile_regex(std::string_view pattern);

}  // namespace kb
