// Continuing a restore's producer id across runs (see producer_identity.hpp).
#include "pipeline/restore/producer_identity.hpp"

#include <string>

namespace kb::pipeline::restore {

std::int32_t sequence_at(std::int64_t end, std::int64_t origin) noexcept {
  constexpr std::int64_t wrap = std::int64_t{1} << 31;
  return static_cast<std::int32_t>((end - origin) % wrap);
}

lane_producer choose_lane_producer(const std::vector<partition_state*>& sources, std::int64_t end,
                                   std::int64_t fresh_id, std::int16_t fresh_epoch) {
  bool same = !sources.empty();
  for (const auto* s : sources) {
    const auto* first = sources.front();
    same = same && s->producer_id >= 0 && s->sequence_origin >= 0 && s->sequence_origin <= end &&
           s->producer_id == first->producer_id && s->producer_epoch == first->producer_epoch &&
           s->sequence_origin == first->sequence_origin;
  }
  if (same) {
    const auto* s = sources.front();
    return {s->producer_id, s->producer_epoch, sequence_at(end, s->sequence_origin), true};
  }
  for (auto* s : sources) {
    s->producer_id = fresh_id;
    s->producer_epoch = fresh_epoch;
    s->sequence_origin = end;
  }
  return {fresh_id, fresh_epoch, 0, false};
}

bool names_foreign_records(const error& e) {
  return e.is(errc::corrupt) && e.message.find("another producer") != std::string::npos;
}

}  // namespace kb::pipeline::restore
