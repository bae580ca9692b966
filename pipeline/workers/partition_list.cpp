// See partition_list.hpp.
#include "pipeline/workers/partition_list.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace kb::pipeline::workers {

std::string describe_partitions(std::span<const topic_partition> partitions) {
  std::vector<topic_partition> tps(partitions.begin(), partitions.end());
  std::sort(tps.begin(), tps.end());
  tps.erase(std::unique(tps.begin(), tps.end()), tps.end());
  std::string out;
  std::string topic;
  std::int32_t run_start = -1, run_end = -2;
  auto flush_run = [&] {
    if (run_start < 0) return;
    out += run_start == run_end ? fmt::format("{}", run_start) : fmt::format("{}-{}", run_start, run_end);
  };
  for (const auto& tp : tps) {
    if (tp.topic != topic) {
      flush_run();
      if (!topic.empty()) out += "] ";
      topic = tp.topic;
      out += topic + "[";
      run_start = run_end = tp.partition;
      continue;
    }
    if (tp.partition == run_end + 1) {
      run_end = tp.partition;
      continue;
    }
    flush_run();
    out += ",";
    run_start = run_end = tp.partition;
  }
  flush_run();
  if (!topic.empty()) out += "]";
  return out.empty() ? "none" : out;
}

}  // namespace kb::pipeline::workers
