// `${VAR}` / `${VAR:-default}` substitution over a config file's raw text, before YAML parsing,
// with a record of which output spans came from variables (so their values are never quoted).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace kb::cli {

/// Looks a variable up; std::nullopt when it is unset. Injected so tests need no real environment.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment (getenv).
[[nodiscard]] env_lookup process_environment();

/// One `${...}` reference as it ended up in the substituted text.
struct substituted_span {
  std::size_t source_begin = 0;  ///< offset of `$` in the original text
  std::size_t source_end = 0;    ///< one past the closing `}` in the original text
  std::size_t output_begin = 0;  ///< offset of the substituted value in the output text
  std::size_t output_end = 0;    ///< one past it
  std::string variable;          ///< the variable's name; empty for a `$$` escape
  bool from_default = false;     ///< the value came from `:-default`, not the environment
};

/// A 1-based line and column.
struct text_position {
  std::size_t line = 1;
  std::size_t column = 1;
};

/// The substituted text plus the spans, and the mapping back to the original text.
class substituted_text {
 public:
  substituted_text() = default;
  substituted_text(std::string original, std::string text, std::vector<substituted_span> spans);

  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] const std::string& original() const noexcept { return original_; }
  [[nodiscard]] const std::vector<substituted_span>& spans() const noexcept { return spans_; }

  /// The variable span covering output offsets [begin, end) (any overlap), or nullptr.
  [[nodiscard]] const substituted_span* span_overlapping(std::size_t begin, std::size_t end) const;
  /// Maps an output offset to an offset in the original text (a substituted value maps to
  /// the `$` of its reference).
  [[nodiscard]] std::size_t original_offset(std::size_t output_offset) const;
  /// 1-based line:column in the original text of an output offset.
  [[nodiscard]] text_position original_position(std::size_t output_offset) const;

 private:
  std::string original_;
  std::string text_;
  std::vector<substituted_span> spans_;
};

/// 1-based line:column of a byte offset in `text`.
[[nodiscard]] text_position position_of(std::string_view text, std::size_t offset);

/// Substitutes `${NAME}` and `${NAME:-default}` (default used when NAME is unset or empty,
/// as in POSIX sh); `$$` becomes `$`; a lone `$` or `$NAME` stays as written. Lines whose
/// first non-blank character is `#` (YAML comments) are copied unchanged. A reference that is
/// a whole plain YAML value (`key: ${X}`, `- ${X}`) whose value would not read back as itself
/// (` #`, leading `&`/`*`/`!`/quotes, `: `, surrounding blanks) is written double-quoted; flow
/// lists/mappings (`[a, b]`, `{...}`) and `null`/`~` stay as they are. An unset variable
/// without default, an unterminated `${` or an invalid name is an errc::config error naming
/// `source_name:line:column` and the variable. Variable values never appear in errors.
[[nodiscard]] kb::result<substituted_text> substitute_env(std::string_view text,
                                                          const env_lookup& env,
                                                          std::string_view source_name = "config");

}  // namespace kb::cli
