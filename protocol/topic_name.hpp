// Kafka's rule for a legal topic name (1..249 of [a-zA-Z0-9._-], not "." or ".."), checked
// before a name reaches CreateTopics or Produce, where the broker would refuse it mid-run.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kb::protocol {

/// The longest topic name a broker accepts (Kafka's Topic.MAX_NAME_LENGTH).
inline constexpr std::size_t k_max_topic_name_length = 249;

/// nullopt when `name` is a legal topic name; otherwise why not, as a phrase that fits after
/// "'NAME' is not a valid topic name: ".
[[nodiscard]] std::optional<std::string> topic_name_problem(std::string_view name);

}  // namespace kb::protocol
