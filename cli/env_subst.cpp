#include "cli/env_subst.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace kb::cli {
namespace {

bool is_name_start(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool valid_name(std::string_view name) noexcept {
  if (name.empty() || !is_name_start(name.front())) return false;
  return std::all_of(name.begin(), name.end(), is_name_char);
}

/// True when the line starting at `line_begin` is a YAML comment line.
bool is_comment_line(std::string_view text, std::size_t line_begin) noexcept {
  for (std::size_t i = line_begin; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t') continue;
    return c == '#';
  }
  return false;
}

/// True when the `${...}` at [begin, end) is a whole plain YAML value: after `key:` or `- `
/// (or `key: - `) on its line, and followed only by blanks or a ` #` comment.
bool is_whole_plain_value(std::string_view text, std::size_t begin, std::size_t end) {
  std::size_t line_begin = text.rfind('\n', begin == 0 ? 0 : begin - 1);
  line_begin = (line_begin == std::string_view::npos || begin == 0) ? 0 : line_begin + 1;
  if (begin > 0 && text[begin - 1] != ' ' && text[begin - 1] != '\t') return false;
  std::string_view before = text.substr(line_begin, begin - line_begin);
  while (!before.empty() && (before.back() == ' ' || before.back() == '\t')) before.remove_suffix(1);
  if (before.empty()) return false;
  if (before.back() == '-') {
    // Only a list item marker: the line holds nothing but `-` before the reference.
    const auto first = before.find_first_not_of(" \t");
    if (first != before.size() - 1) return false;
  } else if (before.back() != ':') {
    return false;
  }
  // A `:` must end a plain key: no quotes or flow brackets before it on the line.
  if (before.find_first_of("\"'[]{}") != std::string_view::npos) return false;
  std::size_t i = end;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (i == text.size() || text[i] == '\n' || text[i] == '\r') return true;
  return text[i] == '#' && i > end;
}

/// True when `value`, written as a plain YAML scalar, would not read back as exactly itself
/// (a ` #` comment cut, an anchor/tag/alias/quote indicator, surrounding blanks, a `: `).
/// Flow lists and mappings stay structural (e.g. `[a:1, b:2]`), and so do `null` and `~`.
bool needs_quoting(const std::string& value) {
  if (value.empty()) return false;
  try {
    const YAML::Node node = YAML::Load(value);
    const bool flow = value.front() == '[' || value.front() == '{';
    if (flow && (node.IsSequence() || node.IsMap())) return false;
    if (value == "~" || value == "null" || value == "Null" || value == "NULL") {
      return false;  // YAML's own "unset"
    }
    if (node.IsNull()) return true;  // `!tag`, `%directive`, `&anchor` alone: syntax, not text
    if (node.IsScalar() && node.Scalar() == value && node.Tag() == "?") return false;
    return true;
  } catch (const YAML::Exception&) {
    return true;
  }
}

std::string double_quoted(const std::string& value) {
  std::string out = "\"";
  for (const char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace

env_lookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);
    if (const char* value = std::getenv(key.c_str())) return std::string(value);
    return std::nullopt;
  };
}

text_position position_of(std::string_view text, std::size_t offset) {
  text_position pos;
  offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

substituted_text::substituted_text(std::string original, std::string text,
                                   std::vector<substituted_span> spans)
    : original_(std::move(original)), text_(std::move(text)), spans_(std::move(spans)) {}

const substituted_span* substituted_text::span_overlapping(std::size_t begin,
                                                           std::size_t end) const {
  if (end <= begin) end = begin + 1;
  for (const auto& span : spans_) {
    if (span.variable.empty()) continue;  // a `$$` escape, not a variable
    if (span.output_begin < end && begin < span.output_end) return &span;
    // An empty substituted value still "touches" the scalar that starts where it was.
    if (span.output_begin == span.output_end && span.output_begin >= begin &&
        span.output_begin < end) {
      return &span;
    }
  }
  return nullptr;
}

std::size_t substituted_text::original_offset(std::size_t output_offset) const {
  std::ptrdiff_t delta = 0;  // original - output, accumulated over spans before the offset
  for (const auto& span : spans_) {
    if (output_offset < span.output_begin) break;
    if (output_offset < span.output_end) return span.source_begin;
    delta = static_cast<std::ptrdiff_t>(span.source_end) -
            static_cast<std::ptrdiff_t>(span.output_end);
  }
  // `$$` escapes also shift offsets; they are recorded as spans with an empty variable name.
  const auto mapped = static_cast<std::ptrdiff_t>(output_offset) + delta;
  return static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, mapped));
}

text_position substituted_text::original_position(std::size_t output_offset) const {
  return position_of(original_, original_offset(output_offset));
}

namespace {

/// Expands the reference `${...}` at text[at..close] into `out` (recording its span), or
/// records why it cannot be expanded.
void expand_reference(std::string_view text, std::size_t at, std::size_t close, const env_lookup& env,
                      std::string_view source_name, std::string& out, std::vector<substituted_span>& spans,
                      std::vector<std::string>& errors) {
  const auto pos = position_of(text, at);
  const std::string_view body = text.substr(at + 2, close - (at + 2));
  std::string_view name = body;
  std::optional<std::string_view> fallback;
  if (const auto sep = body.find(":-"); sep != std::string_view::npos) {
    name = body.substr(0, sep);
    fallback = body.substr(sep + 2);
  }
  if (!valid_name(name)) {
    // The body is not a secret (it is file text), but keep it short.
    errors.push_back(fmt::format(
        "{}:{}:{}: invalid variable name '{}' in '${{...}}': use letters, digits and '_' "
        "(not starting with a digit), optionally followed by ':-default'",
        source_name, pos.line, pos.column, name.substr(0, 64)));
    out += text.substr(at, close + 1 - at);
    return;
  }
  if (fallback && fallback->find("${") != std::string_view::npos) {
    errors.push_back(fmt::format(
        "{}:{}:{}: nested reference in the default of ${{{}}} is not supported",
        source_name, pos.line, pos.column, name));
    out += text.substr(at, close + 1 - at);
    return;
  }
  std::optional<std::string> value = env ? env(name) : std::nullopt;
  bool from_default = false;
  if ((!value || value->empty()) && fallback) {
    value = std::string(*fallback);
    from_default = true;
  }
  if (!value) {
    errors.push_back(fmt::format(
        "{}:{}:{}: environment variable {} is not set (referenced as ${{{}}}); export it, "
        "or give a default with ${{{}:-value}}",
        source_name, pos.line, pos.column, name, name, name));
    return;
  }
  // A value that fills a whole plain YAML value but would not read back as itself (a
  // password with ` #`, a leading `&`, `*`, `!`, quote...) is written double-quoted, so it
  // is neither silently cut nor turned into YAML syntax.
  const std::string written = is_whole_plain_value(text, at, close + 1) && needs_quoting(*value)
                                  ? double_quoted(*value)
                                  : *value;
  spans.push_back({at, close + 1, out.size(), out.size() + written.size(), std::string(name),
                   from_default});
  out += written;
}

}  // namespace

kb::result<substituted_text> substitute_env(std::string_view text, const env_lookup& env,
                                            std::string_view source_name) {
  std::string out;
  out.reserve(text.size());
  std::vector<substituted_span> spans;
  std::vector<std::string> errors;

  std::size_t i = 0;
  bool comment_line = is_comment_line(text, 0);
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      out += c;
      ++i;
      comment_line = is_comment_line(text, i);
      continue;
    }
    if (c != '$' || comment_line) {
      out += c;
      ++i;
      continue;
    }
    // c == '$'
    if (i + 1 < text.size() && text[i + 1] == '$') {
      // `$$` -> `$`. Recorded as a span without a variable so offsets map back exactly.
      spans.push_back({i, i + 2, out.size(), out.size() + 1, {}, false});
      out += '$';
      i += 2;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out += c;  // a lone `$` or `$NAME` stays as written
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    const std::size_t newline = text.find('\n', i + 2);
    const auto pos = position_of(text, i);
    if (close == std::string_view::npos || (newline != std::string_view::npos && newline < close)) {
      errors.push_back(fmt::format(
          "{}:{}:{}: unterminated variable reference '${{' (missing '}}' on the same line); "
          "write $${{ for a literal '${{'",
          source_name, pos.line, pos.column));
      out += text.substr(i, 2);
      i += 2;
      continue;
    }
    expand_reference(text, i, close, env, source_name, out, spans, errors);
    i = close + 1;
  }

  if (!errors.empty()) {
    std::string message = errors.front();
    for (std::size_t k = 1; k < errors.size(); ++k) message += "\n" + errors[k];
    return kb::fail(kb::errc::config, std::move(message));
  }
  return substituted_text(std::string(text), std::move(out), std::move(spans));
}

}  // namespace kb::cli
