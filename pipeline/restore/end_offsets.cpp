// End offsets of many target partitions (see end_offsets.hpp), through the shared kafka_admin.
#include "pipeline/restore/end_offsets.hpp"

#include <chrono>
#include <string>

#include "pipeline/kafka_admin.hpp"
#include "protocol/list_offsets.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines (as in target_check.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::restore {

using namespace std::chrono_literals;

boost::asio::awaitable<kb::result<std::map<net::topic_partition, std::int64_t>>> async_end_offsets(
    net::cluster& cluster, std::vector<net::topic_partition> partitions) {
  // Fixed 250 ms rounds for up to 60 s: freshly created partitions take a while to answer.
  kafka_admin admin(cluster, admin_retry{240, 250ms, 250ms, false}, "the restore principal");
  auto r = co_await admin.async_list_offsets(std::move(partitions), protocol::latest_timestamp);
  if (!r) {
    auto e = std::move(r.error());
    if (!e.is(errc::authorization)) e.message = "cannot read the end offsets of the target partitions: " + e.message;
    co_return fail(std::move(e));
  }
  co_return std::move(*r);
}

}  // namespace kb::pipeline::restore
