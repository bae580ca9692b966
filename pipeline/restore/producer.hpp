// Restore's produce side: the lanes (one per target partition), the idempotent producer id, the
// dispatcher that packs each lane's next batch into one Produce request per leader connection
// (paced by a rate_limiter), and the answers fed back into the lanes and the restore state.
// Everything runs on the engine's io thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/restore/lane.hpp"
#include "pipeline/restore/rate_limiter.hpp"
#include "pipeline/restore/restore.hpp"
#include "pipeline/restore/restore_state.hpp"
#include "pipeline/wake_signal.hpp"
#include "protocol/produce.hpp"

namespace kb::pipeline::restore {

/// What the engine's parts share on the engine thread.
struct restore_run {
  restore_state state;
  restore_summary summary;
  std::optional<error> fatal;  ///< the first error that stops the restore
  bool dirty = false;          ///< the state changed since the last checkpoint
  const std::atomic<bool>* stop = nullptr;
  [[nodiscard]] bool stopping() const { return stop != nullptr && stop->load(); }
};

/// Coroutines waiting for room in the restore's memory budget. Each waits on its own timer (one
/// shared timer would let every new wait cancel the previous one); a release wakes them all.
class wait_list {
 public:
  boost::asio::awaitable<void> wait(boost::asio::any_io_executor ex, std::chrono::milliseconds limit);
  void notify_all() {
    for (auto* t : timers_) t->cancel();
  }

 private:
  std::vector<boost::asio::steady_timer*> timers_;
};

/// A lane and the signal its readers wait on for room (lane.hpp is pure: no executor).
struct lane_entry {
  lane_entry(net::topic_partition tp, boost::asio::any_io_executor ex) : l(std::move(tp)), space(std::move(ex)) {}
  lane l;
  wake_signal space;
};

/// The engine's answers the dispatcher needs each round.
struct dispatch_hooks {
  std::function<void()> settle_done;  ///< marks source partitions done whose batches are all acknowledged
  std::function<bool()> input_done;   ///< no reader runs and no partition waits to be marked done
  std::function<void()> progress;     ///< about every 500 ms and at the end
};

/// Per direct target partition: its end offset now and the states still writing into it.
using lane_writers = std::map<net::topic_partition, std::pair<std::int64_t, std::vector<partition_state*>>>;

class producer {
 public:
  /// `targets`: the target topic names, refreshed when a lane has no leader.
  producer(boost::asio::io_context& io, net::cluster& cluster, const restore_options& o, restore_run& run,
           std::vector<std::string> targets)
      : io_(io), cluster_(cluster), o_(o), run_(run), targets_(std::move(targets)), wake_(io.get_executor()),
        pacing_(o.rate_limit_records_per_sec, o.rate_limit_bytes_per_sec) {}

  /// InitProducerId (retried while the cluster settles; authorization names the ACL).
  boost::asio::awaitable<kb::result<void>> async_init();

  /// The lane of a target partition, made on first use; lanes spread over the leader connections.
  lane_entry& lane_for(const std::string& topic, std::int32_t partition);
  [[nodiscard]] std::map<net::topic_partition, std::unique_ptr<lane_entry>>& lanes() noexcept { return lanes_; }

  /// Gives each lane of `writers` its producer: the one an earlier run wrote with, continued, or
  /// this run's (choose_lane_producer; the caller saves the state before the first produce). Then
  /// refuses (errc::conflict) a resume whose skipped records were written from several sources.
  [[nodiscard]] kb::result<void> start_lanes(lane_writers& writers);

  /// Queues a batch of state index `state_index` (after skipping what a resumed run finds
  /// written), waiting while the lane holds restore_options::lane_buffer_bytes.
  boost::asio::awaitable<kb::result<void>> async_enqueue(lane_entry& e, output_batch ob, std::size_t state_index);

  /// Sends until the input is done and every lane is empty, a fatal error, or a stop; then waits
  /// (restore_options::in_flight_drain) for requests still in flight: those still unanswered are
  /// named in run.fatal.
  boost::asio::awaitable<void> async_run(dispatch_hooks hooks);

  /// Wakes the dispatcher (new batches, a reader finished).
  void notify() { wake_.notify(); }
  /// Readers waiting for room in the memory budget.
  [[nodiscard]] wait_list& budget_waiters() noexcept { return budget_waiters_; }

  /// This run's own producer (InitProducerId), for partitions that continue no earlier one.
  [[nodiscard]] std::int64_t producer_id() const noexcept { return producer_id_; }
  [[nodiscard]] std::int16_t producer_epoch() const noexcept { return producer_epoch_; }
  [[nodiscard]] std::uint64_t queued_bytes() const noexcept { return ledger_.queued_bytes; }
  [[nodiscard]] std::size_t waiting(std::size_t state_index) const noexcept { return ledger_.waiting(state_index); }
  [[nodiscard]] std::uint64_t retries() const noexcept { return retries_; }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_total_; }

 private:
  using connection_key = std::pair<std::int32_t, std::uint32_t>;  ///< leader node id, connection slot
  struct request_slot {
    lane_entry* e;
    std::uint64_t id;  ///< queued_batch::id (positions shift as acked batches are popped)
  };
  using request_map = std::map<connection_key, std::pair<protocol::produce_request, std::vector<request_slot>>>;
  struct round {
    request_map requests;
    bool need_refresh = false;  ///< a lane has no known leader
    bool rate_limited = false;
  };

  round pack_round();
  bool check_leaderless(bool need_refresh);
  boost::asio::awaitable<void> async_drain();
  boost::asio::awaitable<void> async_send(connection_key via, protocol::produce_request req,
                                          std::vector<request_slot> slots);
  void note_retry(const lane& l);
  void settle(lane_entry& e);

  boost::asio::io_context& io_;
  net::cluster& cluster_;
  const restore_options& o_;
  restore_run& run_;
  std::vector<std::string> targets_;
  wake_signal wake_;
  rate_limiter pacing_;
  wait_list budget_waiters_;
  std::map<net::topic_partition, std::unique_ptr<lane_entry>> lanes_;
  lane_ledger ledger_;  ///< queued bytes and batches over all lanes
  std::int64_t producer_id_ = -1;
  std::int16_t producer_epoch_ = -1;
  std::size_t in_flight_total_ = 0;
  std::map<connection_key, int> broker_in_flight_;  ///< produce requests per leader connection
  std::uint64_t retries_ = 0;
  std::uint32_t settled_since_trim_ = 0;
  bool need_metadata_ = false;
  std::optional<std::chrono::steady_clock::time_point> leaderless_since_;
};

}  // namespace kb::pipeline::restore
