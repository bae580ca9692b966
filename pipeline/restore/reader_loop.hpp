// Restore's readers: a bounded number of coroutines that take source partitions in plan order,
// read their frames on the pool within the memory budget, route them when repartitioned, queue
// the batches on the producer's lanes, and mark a partition done once all of it is acknowledged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "base/error.hpp"
#include "pipeline/restore/plan.hpp"
#include "pipeline/restore/producer.hpp"
#include "pipeline/restore/reader.hpp"
#include "pipeline/worker_pool.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::restore {

class reader_loop {
 public:
  struct context {
    storage::object_store& store;
    const restore_plan& plan;
    const restore_options& options;
    const std::set<std::string>& existing;  ///< target topics that existed before the restore
    boost::asio::io_context& io;
    worker_pool& pool;
  };
  reader_loop(context c, restore_run& run, producer& prod) : c_(c), run_(run), producer_(prod) {}

  /// Starts the readers (restore_options::max_concurrent_partitions, at least one).
  void start();
  /// No reader runs and every partition read is marked done.
  [[nodiscard]] bool finished() const noexcept { return running_ == 0 && pending_done_.empty(); }
  /// Marks partitions whose reader finished done once no batch of theirs waits in a lane.
  void settle_done();
  /// The first read failure (damaged data, storage): reading stopped, the queued rest went out.
  [[nodiscard]] std::optional<error> take_error() { return std::exchange(error_, std::nullopt); }

 private:
  boost::asio::awaitable<void> async_run();
  boost::asio::awaitable<kb::result<void>> async_read_partition(std::size_t index);
  boost::asio::awaitable<kb::result<void>> async_queue(frame_work& work, std::optional<murmur2_partitioner>& router,
                                                       std::size_t max_batch, std::size_t index);
  [[nodiscard]] bool halted() const { return run_.fatal || error_ || run_.stopping(); }
  [[nodiscard]] std::uint64_t buffered_bytes() const noexcept { return producer_.queued_bytes() + preparing_bytes_; }

  context c_;
  restore_run& run_;
  producer& producer_;
  std::size_t next_partition_ = 0;
  std::size_t running_ = 0;
  std::uint64_t preparing_bytes_ = 0;  ///< raw bytes of frames being read and rewritten
  std::vector<std::pair<std::size_t, std::int64_t>> pending_done_;  ///< state index, next source offset
  std::optional<error> error_;
};

}  // namespace kb::pipeline::restore
