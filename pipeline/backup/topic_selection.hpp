// Which topics a backup takes: include/exclude patterns (fnmatch(3) globs, or `~regex`),
// internal topics only when asked, and literal includes that must exist.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace kb::pipeline::backup {

/// One topic as the cluster reports it.
struct topic_candidate {
  std::string name;
  bool is_internal = false;
};

struct topic_filter {
  std::vector<std::string> include;  ///< empty: every topic
  std::vector<std::string> exclude;
  bool include_internal = false;
};

/// True when `pattern` (a glob, or `~regex`) matches the whole of `name`.
/// errc::config for a malformed regular expression.
[[nodiscard]] result<bool> pattern_matches(std::string_view pattern, std::string_view name);

/// A pattern that names exactly one topic (no `*`, `?`, `[`, `\\`, nor leading `~`).
[[nodiscard]] bool is_literal(std::string_view pattern) noexcept;

/// Internal topics: flagged internal by the broker, or named with a leading `__`.
[[nodiscard]] bool is_internal_topic(const topic_candidate& t) noexcept;

/// The selected topic names, sorted. errc::not_found naming every literal include that does
/// not exist (a typo must not give an empty "successful" backup); errc::config for a literal
/// include of an internal topic without include_internal, or a bad regex.
[[nodiscard]] result<std::vector<std::string>> select_topics(const std::vector<topic_candidate>& topics,
                                                             const topic_filter& filter);

/// The error text for a selection that matched no topic. Kafka leaves out of Metadata the topics
/// a principal may not describe, so besides the patterns it names a missing Describe ACL as a
/// likely cause and prints the `kafka-acls.sh` command that grants it to `principal`
/// ("User:NAME", or "" when unknown, e.g. an mTLS certificate's name) via `bootstrap`.
[[nodiscard]] std::string no_topic_matches_message(const topic_filter& filter, std::string_view principal,
                                                   std::string_view bootstrap);

}  // namespace kb::pipeline::backup
