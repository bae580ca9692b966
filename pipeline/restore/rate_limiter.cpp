// Produce pacing (see rate_limiter.hpp).
#include "pipeline/restore/rate_limiter.hpp"

namespace kb::pipeline::restore {

bool rate_limiter::admits(std::uint64_t records, std::uint64_t bytes, clock::time_point now) {
  if (records_per_sec_ == 0 && bytes_per_sec_ == 0) return true;
  if (!since_) since_ = now;
  const double elapsed = std::chrono::duration<double>(now - *since_).count() + 1.0;
  auto fits = [&](std::uint64_t limit, std::uint64_t sent, std::uint64_t more) {
    return limit == 0 || sent == 0 || static_cast<double>(sent + more) <= static_cast<double>(limit) * elapsed;
  };
  return fits(records_per_sec_, records_, records) && fits(bytes_per_sec_, bytes_, bytes);
}

}  // namespace kb::pipeline::restore
