// Frame filters: the table of installed filter code, written once at start and read by any thread.
#include "storage/format/frame_filter.hpp"

#include <array>
#include <atomic>
#include <mutex>

#include <fmt/format.h>

namespace kb::storage::format {

namespace {

constexpr std::size_t max_filters = 4;
std::array<frame_filter, max_filters> installed_filters{};
std::array<std::atomic<bool>, max_filters> installed_flags{};
std::mutex install_mutex;

}  // namespace

bool known_frame_filter(std::uint8_t id) noexcept { return id == batch_columns_filter; }

void install_frame_filter(std::uint8_t id, const frame_filter& filter) {
  if (id == no_frame_filter || id >= max_filters) return;
  const std::lock_guard lock(install_mutex);
  if (installed_flags[id].load(std::memory_order_acquire)) return;
  installed_filters[id] = filter;
  installed_flags[id].store(true, std::memory_order_release);
}

kb::result<const frame_filter*> find_frame_filter(std::uint8_t id) {
  if (!known_frame_filter(id))
    return fail(errc::unsupported, fmt::format("frame filter {} is unknown to this kafka-backup: use a newer "
                                               "kafka-backup to read this backup", id));
  if (!installed_flags[id].load(std::memory_order_acquire))
    return fail(errc::internal, fmt::format("frame filter {} is known but its code is not installed in this "
                                            "program (pipeline::install_frame_filters)", id));
  return &installed_filters[id];
}

}  // namespace kb::storage::format
