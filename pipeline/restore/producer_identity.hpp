// Which idempotent producer id a target partition is written with across runs: the one an earlier
// (killed) run used, continued at the sequence its records reached, so that the broker drops
// whichever of a late request and the re-run's resend of the same records lands second.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.hpp"
#include "pipeline/restore/offset_map.hpp"

namespace kb::pipeline::restore {

/// The producer fields a lane stamps on its batches.
struct lane_producer {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  std::int32_t first_sequence = 0;
  bool continued = false;  ///< an earlier run's producer: the broker may know its sequences here
};

/// The sequence of the record that lands at target offset `end` when sequence 0 went to `origin`
/// (Kafka sequences wrap from 2^31 - 1 to 0).
[[nodiscard]] std::int32_t sequence_at(std::int64_t end, std::int64_t origin) noexcept;

/// Picks the producer of one target partition whose end offset is `end` now, from the states of
/// the source partitions still writing into it. When they all name the same saved producer and
/// origin (at or below `end`), it is continued at sequence end - origin; otherwise the run's fresh
/// producer starts at sequence 0 and every one of `sources` records it with origin `end`.
[[nodiscard]] lane_producer choose_lane_producer(const std::vector<partition_state*>& sources, std::int64_t end,
                                                 std::int64_t fresh_id, std::int16_t fresh_epoch);

/// True for the errors that stop a restore because the target partition holds records it did
/// not expect (lane.cpp: acknowledged elsewhere, out-of-order sequence): integrity errors (exit 4)
/// that are no damaged data, so no advice to replace a segment. They all name "another producer".
[[nodiscard]] bool names_foreign_records(const error& e);

}  // namespace kb::pipeline::restore
