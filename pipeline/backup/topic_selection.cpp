#include "pipeline/backup/topic_selection.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <regex>
#include <string>

#include <fmt/format.h>

#include "base/regex.hpp"

namespace kb::pipeline::backup {

bool is_literal(std::string_view pattern) noexcept {
  return !pattern.starts_with('~') && pattern.find_first_of("*?[\\") == std::string_view::npos;
}

bool is_internal_topic(const topic_candidate& t) noexcept {
  return t.is_internal || t.name.starts_with("__");
}

result<bool> pattern_matches(std::string_view pattern, std::string_view name) {
  if (pattern.starts_with('~')) {
    auto re = compile_regex(pattern.substr(1));
    if (!re) {
      return fail(errc::config, fmt::format("topic pattern '{}' is not a valid regular expression ({}); "
                                            "fix the pattern",
                                            pattern, re.error().message));
    }
    return std::regex_match(name.begin(), name.end(), *re);
  }
  // fnmatch(3), flags 0: `*`, `?`, `[...]` classes, `\` escapes. Kafka names hold only
  // [a-zA-Z0-9._-], so the classes and escapes only give meaning to patterns that matched nothing before.
  return ::fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), 0) == 0;
}

result<std::vector<std::string>> select_topics(const std::vector<topic_candidate>& topics,
                                               const topic_filter& filter) {
  // Literal includes first: each must exist, and an internal one needs the explicit flag.
  std::vector<std::string> missing;
  for (const auto& inc : filter.include) {
    if (!is_literal(inc)) continue;
    auto it = std::find_if(topics.begin(), topics.end(), [&](const auto& t) { return t.name == inc; });
    if (it == topics.end()) {
      missing.push_back(inc);
    } else if (is_internal_topic(*it) && !filter.include_internal) {
      return fail(errc::config, fmt::format("source.topics.include names the internal topic '{}'; set "
                                            "backup.include_internal_topics: true to back it up",
                                            inc));
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += fmt::format("{}'{}'", list.empty() ? "" : ", ", m);
    return fail(errc::not_found,
                fmt::format("topic{} {} named in source.topics.include do{} not exist on the cluster (or "
                            "the principal may not describe {}); check the name or remove it",
                            missing.size() > 1 ? "s" : "", list, missing.size() > 1 ? "" : "es",
                            missing.size() > 1 ? "them" : "it"));
  }

  std::vector<std::string> out;
  for (const auto& t : topics) {
    if (is_internal_topic(t) && !filter.include_internal) continue;
    bool in = filter.include.empty();
    for (const auto& inc : filter.include) {
      auto m = pattern_matches(inc, t.name);
      if (!m) return fail(errc::config, "source.topics.include: " + m.error().message);
      if (*m) {
        in = true;
        break;
      }
    }
    if (!in) continue;
    for (const auto& exc : filter.exclude) {
      auto m = pattern_matches(exc, t.name);
      if (!m) return fail(errc::config, "source.topics.exclude: " + m.error().message);
      if (*m) {
        in = false;
        break;
      }
    }
    if (in) out.push_back(t.name);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string no_topic_matches_message(const topic_filter& filter, std::string_view principal,
                                     std::string_view bootstrap) {
  // The ACL resources that cover the include patterns: a literal name, a prefix for `name*`,
  // otherwise every topic (a regex or an inner wildcard has no ACL pattern of its own).
  std::vector<std::string> resources;
  bool everything = filter.include.empty();
  for (const auto& inc : filter.include) {
    if (is_literal(inc)) {
      resources.push_back(fmt::format("--topic '{}'", inc));
    } else if (!inc.starts_with('~') && inc.size() > 1 && inc.back() == '*' &&
               inc.find_first_of("*?[\\") == inc.size() - 1) {
      resources.push_back(fmt::format("--topic '{}' --resource-pattern-type prefixed", inc.substr(0, inc.size() - 1)));
    } else {
      everything = true;
    }
  }
  if (everything) resources.assign(1, "--topic '*'");
  std::string patterns;
  for (const auto& inc : filter.include) patterns += fmt::format("{}'{}'", patterns.empty() ? "" : ", ", inc);
  if (patterns.empty()) patterns = "every topic";
  std::string text = fmt::format(
      "no topic on the cluster matches source.topics (include {}{}); check the patterns. Kafka does not list "
      "the topics a principal may not describe, so this can also be a missing Describe ACL for {}; grant it "
      "(with Read, which the backup needs too) with:",
      patterns, filter.exclude.empty() ? "" : ", minus the excludes", principal.empty() ? "the client's principal" : principal);
  for (const auto& res : resources) {
    text += fmt::format(
        "\n  kafka-acls.sh --bootstrap-server {} --command-config admin.properties --add --allow-principal {} "
        "--operation Describe --operation Read {}",
        bootstrap.empty() ? "HOST:PORT" : bootstrap, principal.empty() ? "User:PRINCIPAL" : principal, res);
  }
  return text;
}

}  // namespace kb::pipeline::backup
