// One target partition's queue of batches on their way to the broker: a pure state machine (no
// I/O, no clock of its own) for queueing, sending in order with idempotent sequences, taking
// answers, resetting after a failed round, splitting refused batches, and settling acknowledged
// batches in offset order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/restore/batch_rewrite.hpp"
#include "pipeline/restore/producer_identity.hpp"
#include "pipeline/restore/restore_state.hpp"

namespace kb::pipeline::restore {

/// Totals over every lane of a restore: the memory budget and "is this source partition done"
/// both need them without walking all lanes.
struct lane_ledger {
  std::uint64_t queued_bytes = 0;                ///< bytes queued in all lanes
  std::vector<std::size_t> waiting_per_state;    ///< queued batches per state index

  void add(std::size_t state, std::size_t bytes);
  void remove(std::size_t state, std::size_t bytes);
  [[nodiscard]] std::size_t waiting(std::size_t state) const noexcept {
    return state < waiting_per_state.size() ? waiting_per_state[state] : 0;
  }
};

struct queued_batch {
  std::uint64_t id = 0;  ///< unique per lane: answers find their batch by it
  output_batch batch;
  std::size_t state = 0;  ///< index into the restore state's partitions
  enum class status { unsent, in_flight, acked, failed } st = status::unsent;
  std::int32_t sequence = -1;
  std::int64_t base = -1;  ///< target offset of its first record, -1 while unknown
  bool too_large = false;
};

/// An acknowledged batch taken off the front of a lane: where its records went.
struct settled_batch {
  std::size_t state = 0;
  std::int64_t base = 0;  ///< target offset of the first record
  output_batch batch;
};

/// The broker's answer for one batch of a produce request.
struct produce_answer {
  std::int16_t error_code = 0;
  std::int64_t base_offset = -1;
  std::optional<std::string> error_message;
};

/// What an answer meant for the restore as a whole.
struct answer_effect {
  std::optional<error> fatal;  ///< the restore must stop (authorization, a fatal broker error)
  bool retry = false;          ///< a retriable failure: the batch goes out again after a reset
};

class lane {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr int max_failed_rounds = 12;

  explicit lane(net::topic_partition tp) : tp_(std::move(tp)) {}

  // ---- queueing ----
  /// Appends a batch produced from state index `state`.
  void push(output_batch batch, std::size_t state, lane_ledger& ledger);
  /// Resume: the first `skip_records` records fed to this lane are in the target already (they
  /// were acknowledged after the last checkpoint). Records them in `s` as written and returns
  /// what is left of `batch` to queue (nullopt: nothing).
  [[nodiscard]] kb::result<std::optional<output_batch>> skip_written(output_batch batch, partition_state& s);

  // ---- sending ----
  /// The next batch to send, or null: backing off, a failed round still has requests out, the
  /// in-flight limit is reached, or nothing is unsent. A failed round is reset first (errc::broker
  /// after max_failed_rounds in a row); a batch above the learnt size limit is split first.
  /// `need_metadata` is set when a reset backs off for a retriable error.
  [[nodiscard]] kb::result<queued_batch*> next_to_send(clock::time_point now, std::size_t max_in_flight,
                                                       lane_ledger& ledger, bool& need_metadata);
  /// Gives `qb` its sequence when it has none; true when the producer fields must be stamped.
  bool assign_sequence(queued_batch& qb);
  /// `qb` is on its way.
  void mark_in_flight(queued_batch& qb);

  // ---- answers ----
  /// The request carrying batch `id` got no usable answer for it (connection failure, no entry).
  void on_lost(std::uint64_t id, const std::string& why);
  /// The broker answered for batch `id`.
  answer_effect on_answer(std::uint64_t id, const produce_answer& a);
  /// Pops acknowledged batches from the front, in order, inferring offsets of batches whose
  /// answer was lost but a later one proves written (sequences are contiguous).
  std::vector<settled_batch> settle(lane_ledger& ledger);

  // ---- state ----
  [[nodiscard]] const net::topic_partition& tp() const noexcept { return tp_; }
  [[nodiscard]] const std::deque<queued_batch>& queue() const noexcept { return queue_; }
  [[nodiscard]] bool empty() const noexcept { return queue_.empty(); }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] bool established() const noexcept { return established_; }
  [[nodiscard]] std::size_t max_bytes() const noexcept { return max_bytes_; }
  [[nodiscard]] std::size_t queued_bytes() const noexcept { return queued_bytes_; }
  [[nodiscard]] std::int32_t next_sequence() const noexcept { return next_sequence_; }
  [[nodiscard]] int failures() const noexcept { return failures_; }
  [[nodiscard]] const std::string& last_failure() const noexcept { return last_failure_; }
  [[nodiscard]] clock::time_point not_before() const noexcept { return not_before_; }
  [[nodiscard]] std::int64_t target_next() const noexcept { return target_next_; }
  [[nodiscard]] std::int64_t skip_records() const noexcept { return skip_records_; }

  /// Where the next acknowledged batch lands: an acknowledgement elsewhere means another producer
  /// appended meanwhile (the restore stops, see take_misplaced).
  void set_target_next(std::int64_t offset) noexcept {
    target_next_ = offset;
    expect_offsets_ = true;
  }
  /// The producer id, epoch and first sequence this lane's batches carry.
  void use_producer(const lane_producer& p) noexcept {
    producer_ = p;
    next_sequence_ = p.first_sequence;
  }
  [[nodiscard]] const lane_producer& producer() const noexcept { return producer_; }
  /// Set by settle() when an acknowledged batch did not land where this lane's records end
  /// (errc::corrupt naming the partition and offsets); taken once.
  [[nodiscard]] std::optional<error> take_misplaced() {
    auto out = std::move(misplaced_);
    misplaced_.reset();
    return out;
  }
  void add_skip(std::int64_t records) noexcept { skip_records_ += records; }

  std::set<std::size_t> sources;  ///< state indexes feeding this lane
  std::uint32_t slot = 0;         ///< the leader connection its batches take, so they stay in order

 private:
  queued_batch* find(std::uint64_t id);
  kb::result<void> reset(clock::time_point now, lane_ledger& ledger, bool& need_metadata);
  kb::result<void> split(std::size_t i, lane_ledger& ledger);
  void fail_retriable(queued_batch& qb, const std::string& why);

  net::topic_partition tp_;
  std::deque<queued_batch> queue_;  ///< unacknowledged batches in produce order
  std::uint64_t next_id_ = 0;
  std::int32_t next_sequence_ = 0;
  std::size_t in_flight_ = 0;
  /// The broker holds our producer state for this partition once a batch was acknowledged;
  /// only then does it refuse out-of-order sequences, so only then may batches pipeline.
  bool established_ = false;
  /// Learnt from MESSAGE_TOO_LARGE: batches above this are split before they are sent.
  std::size_t max_bytes_ = std::numeric_limits<std::size_t>::max();
  std::size_t queued_bytes_ = 0;
  int failures_ = 0;           ///< consecutive failed rounds
  std::string last_failure_;   ///< the latest retried error, for the give-up message
  clock::time_point not_before_{};
  std::int64_t skip_records_ = 0;  ///< already in the target from an interrupted run
  std::int64_t target_next_ = -1;  ///< offset the next acked batch should get
  bool expect_offsets_ = false;    ///< target_next_ is known: acks elsewhere are another writer's doing
  lane_producer producer_;
  std::optional<error> misplaced_;
};

/// Writes a settled batch into its source partition's state: offset map (direct partitions
/// only), next source offset, target end, counters. errc::internal from an out-of-order map add
/// (every run is still counted).
[[nodiscard]] kb::result<void> record_settled(partition_state& s, const settled_batch& b);

}  // namespace kb::pipeline::restore
