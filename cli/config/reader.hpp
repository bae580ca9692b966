// The YAML reader framework of the configuration loader: walks the tree against field tables,
// parses scalars, and records errors and warnings at their original `file:line:col`.
#pragma once

#include <array>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/config/enum_tables.hpp"
#include "cli/config/text.hpp"
#include "cli/env_subst.hpp"

namespace kb::cli::config_detail {

using handler = std::function<void(const YAML::Node& value, const std::string& path)>;

/// One known key of a mapping and what to do with its value.
struct field {
  std::string_view name;
  handler fn;
};

class reader {
 public:
  reader(const substituted_text& text, std::string_view file) : text_(text), file_(file) {}

  [[nodiscard]] std::string where(const YAML::Mark& mark) const;

  void error(const YAML::Mark& mark, std::string_view path, std::string_view message);
  void warn(const YAML::Mark& mark, std::string_view path, std::string_view message);
  /// Error or warning located at a key seen earlier (or the file when it is absent).
  void error_at(std::string_view path, std::string_view message) {
    error(mark_of(path), path, message);
  }
  void warn_at(std::string_view path, std::string_view message) {
    warn(mark_of(path), path, message);
  }

  [[nodiscard]] YAML::Mark mark_of(std::string_view path) const;
  [[nodiscard]] bool seen(std::string_view path) const {
    return marks_.count(std::string(path)) != 0;
  }

  /// How a value may be quoted in a message: never a secret, never text from a variable.
  [[nodiscard]] std::string describe(const YAML::Node& node, std::string_view path) const;

  /// Visits a mapping: unknown keys are errors with a suggestion, duplicates are errors.
  void read_map(const YAML::Node& node, const std::string& path, const std::vector<field>& fields);

  // Scalars. Each returns std::nullopt (after recording an error) on a bad value, and also
  // for an explicit null (`key:` with nothing), which keeps the default.
  std::optional<std::string> string(const YAML::Node& node, const std::string& path);
  std::optional<bool> boolean(const YAML::Node& node, const std::string& path);

  template <class T>
  std::optional<T> integer(const YAML::Node& node, const std::string& path, T min, T max) {
    if (node.IsNull()) return std::nullopt;
    T value{};
    if (!node.IsScalar() || !parse_integer(node.Scalar(), value)) {
      if (node.IsScalar() && looks_like_integer(node.Scalar())) {
        error(node.Mark(), path, fmt::format("must be between {} and {}, not {}", min, max,
                                             describe(node, path)));
      } else {
        error(node.Mark(), path, fmt::format("must be an integer, not {}", describe(node, path)));
      }
      return std::nullopt;
    }
    if (value < min || value > max) {
      error(node.Mark(), path,
            fmt::format("must be between {} and {}, not {}", min, max, describe(node, path)));
      return std::nullopt;
    }
    return value;
  }

  template <class E, std::size_t N>
  std::optional<E> enumeration(const YAML::Node& node, const std::string& path,
                               const std::array<enum_entry<E>, N>& table,
                               std::initializer_list<enum_entry<E>> aliases = {}) {
    const auto text = string(node, path);
    if (!text) return std::nullopt;
    const std::string v = lower(*text);
    for (const auto& entry : table) {
      if (lower(entry.name) == v) return entry.value;
    }
    for (const auto& entry : aliases) {
      if (lower(entry.name) == v) return entry.value;
    }
    error(node.Mark(), path, fmt::format("unknown value {}; allowed: {}", describe(node, path),
                                         allowed_list(table)));
    return std::nullopt;
  }

  /// A list of strings; a single string is taken as a one-element list.
  std::optional<std::vector<std::string>> string_list(const YAML::Node& node,
                                                      const std::string& path);

  template <class T>
  std::optional<std::vector<T>> integer_list(const YAML::Node& node, const std::string& path,
                                             T min, T max) {
    if (node.IsNull()) return std::vector<T>{};
    if (!node.IsSequence()) {
      error(node.Mark(), path, "must be a list of integers");
      return std::nullopt;
    }
    std::vector<T> out;
    std::size_t index = 0;
    for (const auto& item : node) {
      if (auto v = integer<T>(item, fmt::format("{}[{}]", path, index++), min, max)) out.push_back(*v);
    }
    return out;
  }

  using entry_fn = std::function<void(const YAML::Node& key, const YAML::Node& value,
                                      const std::string& entry_path)>;
  /// Iterates a mapping whose keys are data (topic names, partitions), not schema.
  void each_entry(const YAML::Node& node, const std::string& path, const entry_fn& fn);

  void note_mark(const std::string& path, const YAML::Mark& mark) { marks_[path] = mark; }

  [[nodiscard]] std::vector<std::string>& errors() noexcept { return errors_; }
  /// Every error found, one per line, as the config error a loader returns (none: success).
  [[nodiscard]] kb::result<void> outcome() const {
    if (errors_.empty()) return {};
    std::string message = errors_.front();
    for (std::size_t i = 1; i < errors_.size(); ++i) message += "\n" + errors_[i];
    return kb::fail(kb::errc::config, std::move(message));
  }
  [[nodiscard]] std::vector<std::string>& warnings() noexcept { return warnings_; }
  [[nodiscard]] const substituted_text& text() const noexcept { return text_; }

 private:
  static bool looks_like_integer(std::string_view s);
  void unknown_key(const YAML::Node& key, const std::string& key_path, const std::string& name,
                   const std::vector<field>& fields);

  const substituted_text& text_;
  std::string_view file_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::map<std::string, YAML::Mark> marks_;
};

// Field-table helpers: each builds a handler that assigns a parsed value when there is one,
// so a section's table reads `{"key", flag(s.key)}`.

template <class T>
void assign(T& target, std::optional<T> value) {
  if (value) target = std::move(*value);
}
template <class T>
void assign(std::optional<T>& target, std::optional<T> value) {
  if (value) target = std::move(*value);
}

[[nodiscard]] handler string_field(reader& r, std::string& target);
[[nodiscard]] handler optional_string_field(reader& r, std::optional<std::string>& target);
[[nodiscard]] handler flag_field(reader& r, bool& target);
[[nodiscard]] handler secret_field(reader& r, secret_value& target);

/// An integer key with its allowed range.
template <class T>
[[nodiscard]] handler integer_field(reader& r, T& target, T min, T max) {
  return [&r, &target, min, max](const YAML::Node& v, const std::string& p) {
    assign(target, r.integer<T>(v, p, min, max));
  };
}
template <class T>
[[nodiscard]] handler integer_field(reader& r, std::optional<T>& target, T min, T max) {
  return [&r, &target, min, max](const YAML::Node& v, const std::string& p) {
    assign(target, r.integer<T>(v, p, min, max));
  };
}

/// An enumeration key read through its name table.
template <class E, std::size_t N>
[[nodiscard]] handler enum_field(reader& r, E& target, const std::array<enum_entry<E>, N>& table) {
  return [&r, &target, &table](const YAML::Node& v, const std::string& p) {
    assign(target, r.enumeration(v, p, table));
  };
}

}  // namespace kb::cli::config_detail
