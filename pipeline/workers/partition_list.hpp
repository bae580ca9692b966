// A worker's partitions as one short text for its log lines: "orders[0-3,7] audit[1]".
#pragma once

#include <span>
#include <string>

#include "pipeline/workers/assignor.hpp"

namespace kb::pipeline::workers {

/// Sorted by topic and partition; runs of partitions shortened to "a-b"; "none" when empty.
[[nodiscard]] std::string describe_partitions(std::span<const topic_partition> partitions);

}  // namespace kb::pipeline::workers
