// Restore's produce side (see producer.hpp).
#include "pipeline/restore/producer.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/restore/target_check.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/init_producer_id.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines (as in target_check.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::restore {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> wait_list::wait(asio::any_io_executor ex, std::chrono::milliseconds limit) {
  asio::steady_timer t(ex, limit);
  timers_.push_back(&t);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::erase(timers_, &t);
}

asio::awaitable<kb::result<void>> producer::async_init() {
  protocol::init_producer_id_request req;
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto r = co_await cluster_.async_send(cluster_.brokers().begin()->first, req);
    if (!r) co_return fail(std::move(r.error()));
    if (r->error_code == 0) {
      producer_id_ = r->producer_id;
      producer_epoch_ = r->producer_epoch;
      kb::log::debug("idempotent producer id {} epoch {}", producer_id_, producer_epoch_);
      co_return kb::result<void>{};
    }
    const auto cls = protocol::classify(r->error_code);
    if (cls == protocol::error_class::authorization) {
      co_return fail(errc::authorization, "Not authorized to access cluster: InitProducerId needs Write on a topic "
                                          "or IdempotentWrite on the cluster");
    }
    if (cls == protocol::error_class::fatal) {
      co_return fail(errc::broker, "InitProducerId: " + kafka_error(r->error_code, {}));
    }
    asio::steady_timer t(io_, std::chrono::milliseconds(200 * (attempt + 1)));
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return fail(errc::timeout, std::string("InitProducerId kept failing; is the target cluster healthy?"));
}

lane_entry& producer::lane_for(const std::string& topic, std::int32_t partition) {
  auto key = net::topic_partition{topic, partition};
  auto it = lanes_.find(key);
  if (it == lanes_.end()) {
    auto e = std::make_unique<lane_entry>(key, io_.get_executor());
    e->l.use_producer(lane_producer{producer_id_, producer_epoch_, 0, false});
    e->l.slot = static_cast<std::uint32_t>(lanes_.size() % std::max<std::uint32_t>(1, o_.target.connections_per_broker));
    it = lanes_.emplace(key, std::move(e)).first;
  }
  return *it->second;
}

kb::result<void> producer::start_lanes(lane_writers& writers) {
  // Continuing the earlier run's producer makes the broker drop whichever of its late requests
  // and this run's resend of the same records lands second.
  for (auto& [tp, w] : writers) {
    const auto p = choose_lane_producer(w.second, w.first, producer_id_, producer_epoch_);
    lane_for(tp.topic, tp.partition).l.use_producer(p);
    if (p.continued) {
      kb::log::debug("{}[{}]: continuing producer id {} epoch {} at sequence {}", tp.topic, tp.partition, p.id,
                     p.epoch, p.first_sequence);
    }
  }
  for (auto& [tp, e] : lanes_) {
    if (e->l.skip_records() > 0 && e->l.sources.size() > 1) {
      return fail(errc::conflict, fmt::format("cannot resume: {}[{}] is written from several source partitions, so "
                                              "the records after the last checkpoint cannot be attributed; restore "
                                              "into a fresh topic",
                                              tp.topic, tp.partition));
    }
  }
  return {};
}

asio::awaitable<kb::result<void>> producer::async_enqueue(lane_entry& e, output_batch ob, std::size_t state_index) {
  lane& l = e.l;
  if (l.skip_records() > 0) {
    // Already in the target (acknowledged after the last checkpoint of an interrupted run).
    auto rest = l.skip_written(std::move(ob), run_.state.partitions[state_index]);
    run_.dirty = true;
    if (!rest) co_return fail(std::move(rest.error()));
    if (!*rest) co_return kb::result<void>{};
    ob = std::move(**rest);
  }
  while (l.queued_bytes() > o_.lane_buffer_bytes && !run_.fatal && !run_.stopping()) co_await e.space.wait(200ms);
  if (run_.fatal) co_return kb::result<void>{};
  l.push(std::move(ob), state_index, ledger_);
  wake_.notify();
  co_return kb::result<void>{};
}

// One round over the lanes: each lane's next batch goes into the request of its leader
// connection. Requests go per leader connection (broker_in_flight_): a broker works on one
// request per connection at a time, and a partition's batches keep their order by always taking
// the same connection. Two requests per connection keep the broker busy while a response
// travels; a lone connection gets four.
producer::round producer::pack_round() {
  const int max_in_flight_per_connection = o_.target.connections_per_broker > 1 ? 2 : 4;
  round out;
  std::map<connection_key, std::size_t> request_bytes;
  // Per request, the buffers its batches lie in: the connection writes the batches from there
  // (gather write) and holds these until the write has finished, even after a timeout.
  using owners = std::vector<std::shared_ptr<byte_vector>>;
  std::map<connection_key, std::shared_ptr<owners>> batch_owners;
  const auto now = std::chrono::steady_clock::now();
  for (auto& [tp, e] : lanes_) {
    lane& l = e->l;
    if (run_.stopping()) continue;
    auto next = l.next_to_send(now, static_cast<std::size_t>(o_.max_in_flight_per_partition), ledger_, need_metadata_);
    if (!next) {
      run_.fatal = std::move(next.error());
      break;
    }
    if (*next == nullptr) continue;
    auto leader = cluster_.leader(l.tp());
    if (!leader) {
      out.need_refresh = true;
      continue;
    }
    const connection_key via{*leader, l.slot};
    if (broker_in_flight_[via] >= max_in_flight_per_connection) continue;
    auto& bytes = request_bytes[via];
    auto& qb = **next;
    if (bytes > 0 && bytes + qb.batch.size > o_.max_request_bytes) continue;
    if (!pacing_.admits(static_cast<std::uint64_t>(qb.batch.record_count), qb.batch.size, now)) {
      out.rate_limited = true;
      break;
    }
    // The request entry exists only once a batch goes into it: an entry made before the checks above
    // went out as an empty Produce request each time the rate limit stopped a round.
    auto& [req, slots] = out.requests[via];
    if (l.assign_sequence(qb)) {
      if (auto r = stamp_producer(qb.batch, l.producer().id, l.producer().epoch, qb.sequence); !r) {
        run_.fatal = std::move(r.error());
        break;
      }
    }
    l.mark_in_flight(qb);
    bytes += qb.batch.size;
    pacing_.sent(static_cast<std::uint64_t>(qb.batch.record_count), qb.batch.size);
    auto t = std::find_if(req.topic_data.begin(), req.topic_data.end(), [&](const auto& x) { return x.name == l.tp().topic; });
    if (t == req.topic_data.end()) {
      req.topic_data.push_back({l.tp().topic, {}});
      t = req.topic_data.end() - 1;
    }
    t->partition_data.push_back({l.tp().partition, byte_view(qb.batch.bytes())});
    slots.push_back({e.get(), qb.id});
    auto& own = batch_owners[via];
    if (!own) own = std::make_shared<owners>();
    if (own->empty() || own->back() != qb.batch.storage) own->push_back(qb.batch.storage);
  }
  for (auto& [via, own] : batch_owners) out.requests[via].first.keep_alive = std::move(own);
  return out;
}

// False (and run.fatal set) once lanes have had no leader for 60 s.
bool producer::check_leaderless(bool need_refresh) {
  if (!need_refresh) {
    leaderless_since_.reset();
  } else if (!leaderless_since_) {
    leaderless_since_ = std::chrono::steady_clock::now();
  } else if (std::chrono::steady_clock::now() - *leaderless_since_ > 60s) {
    run_.fatal = error{make_error_code(errc::timeout), "target partitions have had no leader for 60 s; is the target "
                                                       "cluster healthy and does the topic still exist?"};
    return false;
  }
  return true;
}

asio::awaitable<void> producer::async_run(dispatch_hooks hooks) {
  auto last_progress = std::chrono::steady_clock::now();
  while (true) {
    hooks.settle_done();
    if (run_.fatal) break;
    bool idle = hooks.input_done();
    for (auto& [tp, e] : lanes_) idle = idle && e->l.empty();
    if (idle) break;
    if (run_.stopping() && in_flight_total_ == 0) break;

    auto r = pack_round();
    if (run_.fatal) break;
    for (auto& [via, rs] : r.requests) {
      rs.first.acks = o_.acks;
      rs.first.timeout_ms = o_.produce_timeout_ms;
      ++broker_in_flight_[via];
      ++in_flight_total_;
      asio::co_spawn(io_, async_send(via, std::move(rs.first), std::move(rs.second)), asio::detached);
    }
    if (!check_leaderless(r.need_refresh)) break;
    if (r.need_refresh || need_metadata_) {
      need_metadata_ = false;
      (void)co_await cluster_.async_refresh_metadata(targets_);
    }
    if (std::chrono::steady_clock::now() - last_progress > 500ms) {
      last_progress = std::chrono::steady_clock::now();
      hooks.progress();
    }
    if (r.requests.empty()) co_await wake_.wait(r.rate_limited ? 20ms : r.need_refresh ? 200ms : 1000ms);
  }
  co_await async_drain();
  hooks.settle_done();
  hooks.progress();
}

// Lets requests still in flight finish (their acks feed the map). Each ends within the
// connection's request timeout; a send that outlives this wait only touches members that live
// until the engine's io_context has stopped.
asio::awaitable<void> producer::async_drain() {
  const auto drain = o_.in_flight_drain.value_or(o_.target.connection.request_timeout + 10s);
  const auto drain_until = std::chrono::steady_clock::now() + drain;
  while (in_flight_total_ > 0 && std::chrono::steady_clock::now() < drain_until) co_await wake_.wait(100ms);
  if (in_flight_total_ > 0) {
    const std::string unanswered = fmt::format(
        "{} produce request(s) were still unanswered after {} ms: the records they carry may or may not be in the "
        "target; re-running the same command resumes from the saved state and the target's end offsets",
        in_flight_total_, std::chrono::duration_cast<std::chrono::milliseconds>(drain).count());
    if (!run_.fatal) run_.fatal = error{make_error_code(errc::timeout), unanswered};
    else run_.fatal->message += "; " + unanswered;
  }
}

asio::awaitable<void> producer::async_send(connection_key via, protocol::produce_request req,
                                           std::vector<request_slot> slots) {
  auto resp = co_await cluster_.async_send(via.first, std::move(req), via.second);
  --broker_in_flight_[via];
  --in_flight_total_;
  // One lookup table per response: a request can carry a thousand partitions.
  std::map<std::pair<std::string_view, std::int32_t>, const protocol::produce_response::partition*> answers;
  if (resp) {
    for (const auto& t : resp->responses)
      for (const auto& p : t.partition_responses) answers[{t.name, p.index}] = &p;
  }
  for (auto& s : slots) {
    lane& l = s.e->l;
    if (!resp) {
      l.on_lost(s.id, resp.error().message);
      note_retry(l);
      continue;
    }
    const auto answer = answers.find({std::string_view(l.tp().topic), l.tp().partition});
    if (answer == answers.end()) {
      l.on_lost(s.id, "no response for the partition");
      note_retry(l);
      continue;
    }
    const auto& pr = *answer->second;
    auto effect = l.on_answer(s.id, produce_answer{pr.error_code, pr.base_offset, pr.error_message});
    if (effect.fatal && !run_.fatal) run_.fatal = std::move(effect.fatal);
    if (effect.retry) note_retry(l);
  }
  for (auto& s : slots) settle(*s.e);
  wake_.notify();
}

void producer::note_retry(const lane& l) {
  ++retries_;
  kb::log::debug("produce to {}[{}] failed, will retry: {}", l.tp().topic, l.tp().partition, l.last_failure());
}

// Pops acknowledged batches from the front of a lane into the offset map and the state.
void producer::settle(lane_entry& e) {
  auto settled = e.l.settle(ledger_);
  if (settled.empty()) return;
  for (const auto& b : settled) {
    if (auto r = record_settled(run_.state.partitions[b.state], b); !r && !run_.fatal) run_.fatal = std::move(r.error());
    run_.summary.records += static_cast<std::uint64_t>(b.batch.record_count);
    run_.summary.bytes += b.batch.size;
  }
  if (auto m = e.l.take_misplaced(); m && !run_.fatal) run_.fatal = std::move(*m);
  settled.clear();  // frees the acknowledged frames before the trim below
  run_.dirty = true;
  e.space.notify();
  budget_waiters_.notify_all();
  if (++settled_since_trim_ >= 64) {  // acknowledged frames were freed: give pages back now and then
    settled_since_trim_ = 0;
    return_free_memory();
  }
}

}  // namespace kb::pipeline::restore
