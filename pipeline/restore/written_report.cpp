// The report of what a stopped restore wrote (see written_report.hpp).
#include "pipeline/restore/written_report.hpp"

#include <fmt/format.h>

#include "pipeline/restore/producer_identity.hpp"

namespace kb::pipeline::restore {

std::string written_report(const restore_state& state, std::string_view restore_id, std::string_view state_location,
                           bool damaged) {
  std::uint64_t total = 0;
  for (const auto& p : state.partitions) total += p.records;
  if (total == 0)
    return fmt::format("Nothing was written to the target by restore {}; fix the cause and re-run.", restore_id);
  std::string m = fmt::format("Written to the target before the restore stopped (restore {}, state in {}):", restore_id,
                              state_location);
  for (const auto& p : state.partitions) {
    const std::string target = p.target_partition >= 0 ? fmt::format("{}[{}]", p.target_topic, p.target_partition)
                                                       : fmt::format("{} (by key)", p.target_topic);
    if (p.records == 0) {
      m += fmt::format("\n  {}[{}] -> {}: nothing", p.source_topic, p.source_partition, target);
    } else if (p.done) {
      m += fmt::format("\n  {}[{}] -> {}: complete, {} records", p.source_topic, p.source_partition, target, p.records);
    } else if (p.target_partition >= 0) {
      m += fmt::format("\n  {}[{}] -> {}: every record below source offset {} ({} records)", p.source_topic,
                       p.source_partition, target, p.next_source_offset, p.records);
    } else {
      m += fmt::format("\n  {}[{}] -> {}: {} records", p.source_topic, p.source_partition, target, p.records);
    }
  }
  // The advice about damaged segments only where data was found damaged: after a 403 or an
  // unavailable store it would send the operator looking for a damage that is not there.
  m += fmt::format(
      "\nRe-running the same command resumes after these offsets once the cause is fixed{}. To start over instead, "
      "delete the records written to the target topics and the restore state.",
      damaged ? " (damaged data: put an intact copy of the segment back)" : "");
  return m;
}

kb::error with_written_report(kb::error e, const restore_state& state, std::string_view restore_id,
                              std::string_view state_location) {
  e.message += "\n" + written_report(state, restore_id, state_location, e.is(errc::corrupt) && !names_foreign_records(e));
  return e;
}

}  // namespace kb::pipeline::restore
