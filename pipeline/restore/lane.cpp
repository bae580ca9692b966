// The per-partition lane state machine (see lane.hpp).
#include "pipeline/restore/lane.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "pipeline/restore/target_check.hpp"
#include "protocol/error_codes.hpp"

namespace kb::pipeline::restore {

using protocol::error_code;

void lane_ledger::add(std::size_t state, std::size_t bytes) {
  queued_bytes += bytes;
  if (waiting_per_state.size() <= state) waiting_per_state.resize(state + 1, 0);
  ++waiting_per_state[state];
}

void lane_ledger::remove(std::size_t state, std::size_t bytes) {
  queued_bytes -= bytes;
  --waiting_per_state[state];
}

void lane::push(output_batch batch, std::size_t state, lane_ledger& ledger) {
  queued_bytes_ += batch.size;
  ledger.add(state, batch.size);
  queued_batch qb;
  qb.id = ++next_id_;
  qb.batch = std::move(batch);
  qb.state = state;
  queue_.push_back(std::move(qb));
}

kb::result<std::optional<output_batch>> lane::skip_written(output_batch batch, partition_state& s) {
  if (skip_records_ <= 0) return std::optional<output_batch>(std::move(batch));
  const auto n = std::min<std::int64_t>(skip_records_, batch.record_count);
  std::int64_t left = n;
  for (const auto& run : batch.sources) {
    const auto take = std::min<std::int64_t>(left, run.count);
    if (take <= 0) break;
    if (s.target_partition >= 0) (void)s.map.add(run.first, target_next_, take);
    target_next_ += take;
    s.next_source_offset = run.first + take;
    s.records += static_cast<std::uint64_t>(take);
    left -= take;
  }
  s.target_end = target_next_;
  skip_records_ -= n;
  if (n == batch.record_count) return std::optional<output_batch>();
  return drop_leading_records(batch, static_cast<std::int32_t>(n));
}

kb::result<queued_batch*> lane::next_to_send(clock::time_point now, std::size_t max_in_flight, lane_ledger& ledger,
                                             bool& need_metadata) {
  if (not_before_ > now) return nullptr;
  const bool has_failed = std::any_of(queue_.begin(), queue_.end(),
                                      [](const queued_batch& q) { return q.st == queued_batch::status::failed; });
  if (has_failed) {
    if (in_flight_ > 0) return nullptr;  // let the round finish, then resend in order
    // The back-off set here holds the round after this one: this resend goes out now.
    if (auto r = reset(now, ledger, need_metadata); !r) return fail(std::move(r.error()));
  }
  const std::size_t limit = established_ ? max_in_flight : 1;
  if (in_flight_ >= limit) return nullptr;
  std::size_t idx = 0;
  while (idx < queue_.size() && queue_[idx].st != queued_batch::status::unsent) ++idx;
  if (idx == queue_.size()) return nullptr;
  if (queue_[idx].sequence < 0 && queue_[idx].batch.size > max_bytes_) {
    if (auto r = split(idx, ledger); !r) return fail(std::move(r.error()));
  }
  return &queue_[idx];
}

bool lane::assign_sequence(queued_batch& qb) {
  if (qb.sequence >= 0) return false;
  qb.sequence = next_sequence_;
  next_sequence_ = sequence_at(std::int64_t{next_sequence_} + qb.batch.record_count, 0);
  return true;
}

void lane::mark_in_flight(queued_batch& qb) {
  qb.st = queued_batch::status::in_flight;
  ++in_flight_;
}

queued_batch* lane::find(std::uint64_t id) {
  auto it = std::find_if(queue_.begin(), queue_.end(), [&](const queued_batch& q) { return q.id == id; });
  return it == queue_.end() ? nullptr : &*it;
}

void lane::fail_retriable(queued_batch& qb, const std::string& why) {
  qb.st = queued_batch::status::failed;
  last_failure_ = why;
}

void lane::on_lost(std::uint64_t id, const std::string& why) {
  if (in_flight_ > 0) --in_flight_;
  if (auto* qb = find(id)) fail_retriable(*qb, why);  // not found cannot happen: in-flight batches stay queued
}

answer_effect lane::on_answer(std::uint64_t id, const produce_answer& a) {
  if (in_flight_ > 0) --in_flight_;
  answer_effect out;
  auto* qb = find(id);
  if (qb == nullptr) return out;
  const auto code = static_cast<error_code>(a.error_code);
  if (code == error_code::none) {
    qb->st = queued_batch::status::acked;
    qb->base = a.base_offset;
  } else if (code == error_code::duplicate_sequence_number) {
    qb->st = queued_batch::status::acked;  // written before; its offset follows the previous batch
    qb->base = -1;
  } else if (code == error_code::message_too_large || code == error_code::record_list_too_large) {
    qb->st = queued_batch::status::failed;
    qb->too_large = true;
    max_bytes_ = std::min(max_bytes_, std::max<std::size_t>(qb->batch.size / 2, 512));
  } else {
    qb->st = queued_batch::status::failed;
    const auto cls = protocol::classify(a.error_code);
    if (cls == protocol::error_class::authorization) {
      out.fatal = error{make_error_code(errc::authorization),
                        fmt::format("Not authorized to access topic '{}': the restore principal needs Write on it",
                                    tp_.topic)};
    } else if (code == error_code::unsupported_for_message_format) {
      // Not transient: a topic stored in message format v0/v1 (message.format.version below
      // 0.11, possible up to Kafka 2.8) refuses the idempotent producer's batches every time.
      out.fatal = error{make_error_code(errc::broker),
                        fmt::format("producing to {}[{}] failed: {}: the topic stores the old message format "
                                    "(message.format.version below 0.11), which cannot take the idempotent batches "
                                    "restore writes; set the topic's message.format.version to the broker's version "
                                    "(kafka-configs --alter --entity-type topics --add-config "
                                    "message.format.version=2.8), or raise the broker's log.message.format.version "
                                    "before restore creates the topic, then re-run",
                                    tp_.topic, tp_.partition, kafka_error(a.error_code, a.error_message))};
    } else if (code == error_code::out_of_order_sequence_number && producer_.continued && !established_) {
      // The first batch of an earlier run's producer: its sequence (target end - origin) does not
      // follow what the broker holds from that producer here.
      out.fatal = error{
          make_error_code(errc::corrupt),
          fmt::format("{}[{}]: the target partition's records do not continue this restore's producer (id {}, "
                      "sequence {} expected at offset {}): a produce request of the interrupted run landed after "
                      "this run read the end offsets (re-running the same command resumes after it), or another "
                      "producer wrote into the partition since the earlier run (then its records sit among the "
                      "restored ones: check the partition, delete the target topic and the restore state and "
                      "restore again)",
                      tp_.topic, tp_.partition, producer_.id, qb->sequence, target_next_)};
    } else if (cls == protocol::error_class::fatal && code != error_code::out_of_order_sequence_number) {
      out.fatal = error{make_error_code(errc::broker), fmt::format("producing to {}[{}] failed: {}", tp_.topic,
                                                                   tp_.partition,
                                                                   kafka_error(a.error_code, a.error_message))};
    } else {
      fail_retriable(*qb, kafka_error(a.error_code, a.error_message));
      out.retry = true;
    }
  }
  return out;
}

// Replaces queue entry `i` (unsent) by batches no larger than the learnt limit.
kb::result<void> lane::split(std::size_t i, lane_ledger& ledger) {
  auto pieces = resplit_batch(queue_[i].batch, max_bytes_);
  if (!pieces) {
    return fail(pieces.error().code, fmt::format("{}[{}]: {}", tp_.topic, tp_.partition, pieces.error().message));
  }
  const std::size_t state = queue_[i].state;
  queued_bytes_ -= queue_[i].batch.size;
  ledger.remove(state, queue_[i].batch.size);
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
  std::size_t at = i;
  for (auto& piece : *pieces) {
    queued_batch x;
    x.id = ++next_id_;
    x.state = state;
    queued_bytes_ += piece.size;
    ledger.add(state, piece.size);
    x.batch = std::move(piece);
    queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(at++), std::move(x));
  }
  return {};
}

// Resends every unacknowledged batch in order, with their sequences. After a MESSAGE_TOO_LARGE
// nothing behind the refused batch was written, so from there on the batches are split to the
// learnt limit and sequences are assigned afresh.
kb::result<void> lane::reset(clock::time_point now, lane_ledger& ledger, bool& need_metadata) {
  bool transient = false;
  for (const auto& q : queue_) transient = transient || (q.st == queued_batch::status::failed && !q.too_large);
  if (++failures_ > max_failed_rounds) {
    return fail(errc::broker, fmt::format("producing to {}[{}] failed {} times in a row; last error: {}", tp_.topic,
                                          tp_.partition, max_failed_rounds, last_failure_));
  }
  if (transient) {
    not_before_ = now + std::chrono::milliseconds(std::min(100 << failures_, 5000));
    need_metadata = true;
  }
  bool resequence = false;
  std::int32_t seq = -1;
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    auto& qb = queue_[i];
    if (qb.st == queued_batch::status::acked) continue;
    if (seq < 0 && qb.sequence >= 0) seq = qb.sequence;
    resequence = resequence || qb.too_large;
    qb.st = queued_batch::status::unsent;
    if (resequence) qb.sequence = -1;
    if (qb.too_large) {
      qb.too_large = false;
      if (auto r = split(i, ledger); !r) return r;
    }
  }
  if (resequence && seq >= 0) next_sequence_ = seq;
  return {};
}

std::vector<settled_batch> lane::settle(lane_ledger& ledger) {
  // A later batch acked while an earlier one failed proves the earlier one was written
  // (sequences are contiguous): infer its offset backwards.
  for (std::size_t j = queue_.size(); j-- > 0;) {
    if (queue_[j].st != queued_batch::status::acked || queue_[j].base < 0) continue;
    std::int64_t base = queue_[j].base;
    for (std::size_t i = j; i-- > 0;) {
      auto& q = queue_[i];
      base -= q.batch.record_count;
      if (q.st == queued_batch::status::failed && q.sequence >= 0 && !q.too_large) {
        q.st = queued_batch::status::acked;
        q.base = base;
      } else if (q.st == queued_batch::status::acked && q.base < 0) {
        q.base = base;
      }
    }
    break;
  }
  std::vector<settled_batch> out;
  while (!queue_.empty() && queue_.front().st == queued_batch::status::acked) {
    auto& qb = queue_.front();
    const std::int64_t base = qb.base >= 0 ? qb.base : target_next_;
    if (expect_offsets_ && target_next_ >= 0 && base != target_next_ && !misplaced_) {
      misplaced_ = error{
          make_error_code(errc::corrupt),
          fmt::format("{}[{}]: the broker acknowledged {} restored records at offset {} but this restore's records "
                      "end at offset {}: another producer (or a produce request of an interrupted earlier run) wrote "
                      "offsets {}..{} meanwhile, which may duplicate restored records; the restore stopped and its "
                      "state records where its own records went (a re-run goes on from there); check those offsets, "
                      "or delete the target topic and the restore state and restore again",
                      tp_.topic, tp_.partition, qb.batch.record_count, base, target_next_,
                      std::min(base, target_next_), std::max(base, target_next_) - 1)};
    }
    target_next_ = base + qb.batch.record_count;
    queued_bytes_ -= qb.batch.size;
    ledger.remove(qb.state, qb.batch.size);
    failures_ = 0;
    established_ = true;
    out.push_back({qb.state, base, std::move(qb.batch)});
    queue_.pop_front();
  }
  return out;
}

kb::result<void> record_settled(partition_state& s, const settled_batch& b) {
  kb::result<void> out;
  if (s.target_partition >= 0) {
    std::int64_t t = b.base;
    for (const auto& run : b.batch.sources) {
      if (auto r = s.map.add(run.first, t, run.count); !r && out) out = fail(std::move(r.error()));
      t += run.count;
    }
    s.next_source_offset = b.batch.last_source() + 1;
    s.target_end = b.base + b.batch.record_count;
  }
  s.records += static_cast<std::uint64_t>(b.batch.record_count);
  s.bytes += b.batch.size;
  return out;
}

}  // namespace kb::pipeline::restore
