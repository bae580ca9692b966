// The configuration of `kafka-backup reset-offsets`: the `source:` section (the backup's reader)
// plus `reset_offsets:` {groups, topics, strategy, timestamp, offset, dry_run} and `logging:`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "cli/config.hpp"
#include "cli/env_subst.hpp"
#include "pipeline/offsets/reset_plan.hpp"

namespace kb::cli {

struct reset_offsets_config {
  std::string file;
  kafka_config source;
  pipeline::offsets::reset_request request;
  logging_config logging;
  std::vector<std::string> warnings;
};

/// Parses and checks the text (errc::config, one `file:line:col: key: why` per line).
[[nodiscard]] kb::result<reset_offsets_config> load_reset_offsets_text(std::string_view text,
                                                                       std::string_view source_name,
                                                                       const env_lookup& env);
[[nodiscard]] kb::result<reset_offsets_config> load_reset_offsets_file(const std::string& path, const env_lookup& env);

}  // namespace kb::cli
