// The restore engine. One io_context thread owns the cluster, the lanes (one per target
// partition) and the dispatcher; storage reads and batch rewriting run on a small thread pool.
#include "pipeline/restore/restore.hpp"
#include "pipeline/restore/written_report.hpp"

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "pipeline/exception_error.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/metrics_server.hpp"
#include "pipeline/restore/lane.hpp"
#include "pipeline/restore/offset_map.hpp"
#include "pipeline/restore/partitioner.hpp"
#include "pipeline/restore/producer.hpp"
#include "pipeline/restore/reader.hpp"
#include "pipeline/restore/restore_state.hpp"
#include "pipeline/restore/target_check.hpp"
#include "pipeline/wake_signal.hpp"
#include "protocol/create_topics.hpp"
#include "protocol/describe_groups.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/init_producer_id.hpp"
#include "protocol/list_offsets.hpp"
#include "protocol/metadata.hpp"
#include "protocol/offset_commit.hpp"
#include "protocol/produce.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::restore {

namespace asio = boost::asio;
namespace sf = storage::format;
using namespace std::chrono_literals;
using protocol::error_code;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

class engine {
 public:
  engine(storage::object_store& store, const restore_options& o, restore_plan plan)
      : store_(store), o_(o), plan_(std::move(plan)), pool_(2), checkpoint_wake_(io_.get_executor()) {
    run_.stop = o.stop;
  }

  kb::result<restore_summary> run() {
    std::optional<kb::result<void>> outcome;
    asio::co_spawn(io_, async_main(), [&](std::exception_ptr e, kb::result<void> r) {
      outcome = e ? kb::result<void>(fail(error_from_exception(e, "the restore engine"))) : std::move(r);
      if (cluster_) cluster_->close();
      if (metrics_) metrics_->stop();  // an idle scraper must not keep io_.run() going
    });
    io_.run();
    pool_.join();
    if (!outcome) return fail(errc::internal, "the restore engine stopped without a result");
    if (!*outcome) return fail(std::move(outcome->error()));
    return std::move(summary_);
  }

 private:
  // ---- helpers ----------------------------------------------------------------------------
  // Runs `f` on the pool and resumes the awaiting coroutine on the engine thread with its
  // result. Not a coroutine itself: g++ 12 mishandles lambdas moved through coroutine frames.
  template <class F>
  auto on_pool(F f) {
    using R = decltype(f());
    return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
        [this](auto handler, F fn) {
          asio::post(pool_, [this, handler = std::move(handler), fn = std::move(fn)]() mutable {
            R r = fn();
            asio::post(io_, [handler = std::move(handler), r = std::move(r)]() mutable { std::move(handler)(std::move(r)); });
          });
        },
        asio::use_awaitable, std::move(f));
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(io_);
    t.expires_after(d);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  std::int32_t any_node() const { return cluster_->brokers().begin()->first; }

  bool stopping() const { return run_.stopping(); }

  // ---- main -------------------------------------------------------------------------------
  asio::awaitable<kb::result<void>> async_main() {
    started_ = std::chrono::steady_clock::now();
    summary_.dry_run = o_.dry_run;
    summary_.plan_text = describe_plan(plan_, o_.plan);
    summary_.warnings = plan_.warnings;
    summary_.partitions = plan_.partitions.size();
    for (const auto& h : plan_.holes) summary_.holes.push_back(h.text());
    if (o_.acks == 0) {
      co_return fail(errc::config, "restore.produce_acks: 0 gives no offsets back, so the offset map and consumer-group "
                                   "translation cannot work: use -1 (all, the default) or 1");
    }
    if (o_.metrics && !o_.dry_run) {
      if (auto r = open_metrics(); !r) co_return r;
    }
    cluster_ = net::cluster::create(io_.get_executor(), o_.target);
    if (auto r = co_await cluster_->async_bootstrap(); !r) co_return fail(std::move(r.error()));
    std::vector<std::string> targets;
    for (const auto& t : plan_.topics) targets.push_back(t.target);
    producer_.emplace(io_, *cluster_, o_, run_, std::move(targets));
    brokers_ok_ = true;
    if (auto r = co_await async_check_target(); !r) co_return r;
    if (auto r = co_await async_check_groups(); !r) co_return r;
    summary_.restore_id = o_.restore_id.empty() ? derive_restore_id() : o_.restore_id;
    if (o_.dry_run) co_return kb::result<void>{};

    if (auto r = co_await async_load_state(); !r) co_return r;
    if (auto r = co_await async_create_topics(); !r) co_return r;
    if (auto r = co_await producer_->async_init(); !r) co_return r;
    if (auto r = co_await async_prepare_lanes(); !r) co_return r;
    kb::log::debug("restore {}: {} target partitions ready", summary_.restore_id, producer_->lanes().size());
    note_target_ids();
    if (auto r = co_await async_save_state(); !r) co_return r;  // before the first produce
    kb::log::debug("restore {}: initial state saved", summary_.restore_id);

    // Readers (bounded concurrency), the dispatcher and the checkpoint writer.
    const std::size_t readers = std::max<std::size_t>(1, std::min<std::size_t>(o_.max_concurrent_partitions, plan_.partitions.size()));
    readers_running_ = readers;
    for (std::size_t i = 0; i < readers; ++i) asio::co_spawn(io_, async_reader_loop(), asio::detached);
    asio::co_spawn(io_, async_checkpoint_loop(), asio::detached);
    dispatch_hooks hooks;
    hooks.settle_done = [this] { settle_done(); };
    hooks.input_done = [this] { return readers_running_ == 0 && pending_done_.empty(); };
    hooks.progress = [this] {
      if (o_.on_progress) o_.on_progress(summary_.records, summary_.bytes, plan_.bytes());
    };
    co_await producer_->async_run(std::move(hooks));
    if (read_error_ && !fatal_) fatal_ = std::move(read_error_);
    finished_ = true;
    checkpoint_wake_.notify();  // io_.run() returns only once the checkpoint loop has ended
    if (fatal_) {
      // The producer has waited (bounded, restore_options::in_flight_drain) for requests already
      // sent, so the report below says what the target holds; requests still unanswered are named
      // in the error.
      (void)co_await async_save_state();
      auto e = with_written_report(std::move(*fatal_), state_, summary_.restore_id,
                                   state_at_.where);
      co_return fail(std::move(e));
    }
    for (auto& p : state_.partitions) {
      if (!stopping()) p.done = true;
    }
    if (auto r = co_await async_save_state(); !r) co_return r;
    if (stopping()) co_return fail(errc::cancelled, std::string("restore interrupted; re-run the same command to resume"));
    if (auto r = write_offset_report(); !r) co_return r;
    if (auto r = co_await async_commit_groups(); !r) co_return r;
    finish_summary();
    co_return kb::result<void>{};
  }

  // ---- metrics endpoint ---------------------------------------------------------------------
  kb::result<void> open_metrics() {
    const auto& m = *o_.metrics;
    metrics_server_options mo;
    mo.bind_address = m.bind_address;
    mo.port = m.port;
    mo.path = m.path;
    // The plan was read from the store before the server opened; the brokers are the rest.
    mo.ready = [this]() -> std::string {
      return brokers_ok_ ? std::string() : std::string("connecting to the target brokers (metadata not fetched yet)");
    };
    auto server = metrics_server::start(io_.get_executor(), mo, [this] { return render_metrics(snapshot_metrics()); });
    if (!server) return fail(std::move(server.error()));
    metrics_ = std::move(*server);
    kb::log::info("restore: metrics on http://{}:{}{}", m.bind_address, metrics_->port(), m.path);
    return {};
  }

  restore_metrics snapshot_metrics() const {
    restore_metrics m;
    m.restore_id = summary_.restore_id;
    m.records = summary_.records;
    m.bytes = summary_.bytes;
    m.batches_passed = summary_.batches_passed;
    m.batches_reencoded = summary_.batches_reencoded;
    m.batches_dropped = summary_.batches_dropped;
    m.produce_retries = producer_ ? producer_->retries() : 0;
    m.requests_in_flight = producer_ ? producer_->in_flight() : 0;
    m.partitions_total = plan_.partitions.size();
    for (const auto& p : state_.partitions) m.partitions_done += p.done ? 1 : 0;
    m.planned_bytes = plan_.bytes();
    return m;
  }

  std::string derive_restore_id() const {
    std::string key = plan_.backup.backup_id + "|" + cluster_->cluster_id().value_or("") + "|";
    for (const auto& p : plan_.partitions) {
      key += fmt::format("{}:{}>{}:{};", p.source_topic, p.source_partition, p.target_topic, p.target_partition);
    }
    key += fmt::format("|{}|{}", o_.plan.window.start.value_or(-1), o_.plan.window.end.value_or(-1));
    return fmt::format("r-{:016x}", fnv1a(key));
  }

  // ---- target checks (nothing written; pipeline/restore/target_check.hpp) ----------------------
  asio::awaitable<kb::result<void>> async_check_target() {
    checks_.emplace(*cluster_, plan_, target_check_options{o_.create_topics, o_.replication_factor, o_.reset_consumer_offsets});
    auto r = co_await checks_->async_check_target();
    const auto& f = checks_->facts();
    existing_ = f.existing;
    topic_ops_ = f.topic_ops;
    target_status_ = f.status;
    to_create_ = f.to_create;
    summary_.created_topics = f.created_topics;
    summary_.warnings.insert(summary_.warnings.end(), f.warnings.begin(), f.warnings.end());
    co_return r;
  }

  asio::awaitable<kb::result<void>> async_check_groups() {
    auto r = co_await checks_->async_check_groups();
    coordinators_ = checks_->facts().coordinators;
    co_return r;
  }

  // ---- state ------------------------------------------------------------------------------
  // Where the state lives, what it says, and whether the target is still what it wrote into
  // (pipeline/restore/restore_state.hpp). Runs before any topic is created.
  asio::awaitable<kb::result<void>> async_load_state() {
    state_choice choice;
    choice.checkpoint_state = o_.checkpoint_state;
    choice.state_dir = o_.state_dir;
    choice.backup_id = plan_.backup.backup_id;
    choice.restore_id = summary_.restore_id;
    choice.fallback_dir = default_local_state_dir(std::getenv("XDG_STATE_HOME"), std::getenv("HOME"));
    auto choose = [this, choice] { return choose_state_location(store_, choice); };
    auto at = co_await on_pool(std::move(choose));
    if (!at) co_return fail(std::move(at.error()));
    state_at_ = std::move(*at);
    auto load = [this] { return load_restore_state(store_, state_at_); };
    auto loaded = co_await on_pool(std::move(load));
    if (!loaded) co_return fail(std::move(loaded.error()));
    std::optional<restore_state> old = std::move(*loaded);
    state_.restore_id = summary_.restore_id;
    state_.backup_id = plan_.backup.backup_id;
    for (const auto& p : plan_.partitions) {
      partition_state s;
      s.source_topic = p.source_topic;
      s.source_partition = p.source_partition;
      s.target_topic = p.target_topic;
      s.target_partition = p.target_partition;
      if (old) {
        for (const auto& q : old->partitions) {
          if (q.source_topic == s.source_topic && q.source_partition == s.source_partition &&
              q.target_topic == s.target_topic && q.target_partition == s.target_partition) {
            s = q;
          }
        }
      }
      state_.partitions.push_back(std::move(s));
    }
    if (old) {
      // Never trust a state whose target is gone or was re-created: start that target over.
      for (const auto& why : reset_stale_targets(state_, target_status_)) {
        kb::log::warn("restore {}: {}: the saved state ({}) no longer describes it, so it is restored from the start",
                      summary_.restore_id, why, state_at_.where);
      }
      // Finished partitions are not read again: check here that they still hold what was written.
      std::vector<net::topic_partition> finished;
      for (const auto& s : state_.partitions)
        if (s.done && s.target_partition >= 0 && s.target_end >= 0) finished.push_back({s.target_topic, s.target_partition});
      if (!finished.empty()) {
        std::sort(finished.begin(), finished.end());
        finished.erase(std::unique(finished.begin(), finished.end()), finished.end());
        auto ends = co_await async_end_offsets(std::move(finished));
        if (!ends) co_return fail(std::move(ends.error()));
        std::map<std::pair<std::string, std::int32_t>, std::int64_t> by_tp;
        for (const auto& [tp, end] : *ends) by_tp[{tp.topic, tp.partition}] = end;
        if (auto r = check_written_ends(state_, by_tp, state_at_.where); !r) co_return r;
      }
      resumed_ = std::any_of(state_.partitions.begin(), state_.partitions.end(), [](const partition_state& x) {
        return x.done || x.target_end >= 0 || x.records > 0;
      });
    }
    if (resumed_) {
      const bool all_done = std::all_of(state_.partitions.begin(), state_.partitions.end(),
                                        [](const partition_state& x) { return x.done; });
      if (all_done) {
        summary_.warnings.push_back(fmt::format(
            "restore {} was already completed by an earlier run: nothing is produced again (group offsets are "
            "committed again); to restore once more delete {} or choose another target topic",
            summary_.restore_id, state_at_.where));
      } else {
        kb::log::info("resuming restore {} from its saved state {}", summary_.restore_id, state_at_.where);
      }
    }
    co_return kb::result<void>{};
  }

  // The target topic ids go into the state before the first record is produced.
  void note_target_ids() {
    for (auto& s : state_.partitions) {
      const auto* info = cluster_->find_topic(s.target_topic);
      std::string id = info != nullptr ? topic_id_hex(info->topic_id) : std::string();
      if (id.empty()) {
        const auto st = target_status_.find(s.target_topic);
        if (st != target_status_.end()) id = st->second.topic_id;
      }
      if (!id.empty()) s.target_topic_id = id;
    }
  }

  asio::awaitable<kb::result<void>> async_save_state() {
    // One save at a time, so an older snapshot never lands after a newer one.
    for (int i = 0; saving_ && i < 3000; ++i) co_await sleep(10ms);
    saving_ = true;
    auto r = co_await async_save_state_now();
    saving_ = false;
    co_return r;
  }

  asio::awaitable<kb::result<void>> async_save_state_now() {
    state_.updated_ms = now_ms();
    dirty_ = false;
    auto save = [this, snapshot = state_] { return save_restore_state(store_, state_at_, snapshot); };
    auto r = co_await on_pool(std::move(save));
    co_return r;
  }

  kb::result<void> write_offset_report() {
    if (!o_.offset_report) return {};
    return restore::write_offset_report(*o_.offset_report, state_);
  }

  asio::awaitable<void> async_checkpoint_loop() {
    while (!finished_) {
      co_await checkpoint_wake_.wait(1000ms);
      if (finished_) break;
      if (dirty_) {
        if (auto r = co_await async_save_state(); !r) kb::log::warn("restore checkpoint not saved: {}", r.error().message);
      }
      if (o_.on_progress) o_.on_progress(summary_.records, summary_.bytes, plan_.bytes());
    }
  }

  // ---- topics, producer, lanes --------------------------------------------------------------
  asio::awaitable<kb::result<void>> async_create_topics() {
    if (to_create_.empty()) co_return kb::result<void>{};
    protocol::create_topics_request req;
    req.topics = to_create_;
    req.timeout_ms = 30000;
    auto r = co_await cluster_->async_send(any_node(), req);
    if (!r) co_return fail(std::move(r.error()));
    std::vector<std::string> names;
    for (const auto& t : r->topics) {
      names.push_back(t.name);
      if (t.error_code != 0 && t.error_code != static_cast<std::int16_t>(error_code::topic_already_exists)) {
        co_return fail(protocol::classify(t.error_code) == protocol::error_class::authorization ? errc::authorization : errc::broker,
                       fmt::format("cannot create target topic '{}': {}", t.name, kafka_error(t.error_code, t.error_message)));
      }
      kb::log::info("created target topic '{}'", t.name);
    }
    // Wait until every new partition has a leader (bounded: 60 x 500 ms).
    for (int attempt = 0; attempt < 60; ++attempt) {
      (void)co_await cluster_->async_refresh_metadata(names);
      bool ready = true;
      for (const auto& t : to_create_) {
        const auto* info = cluster_->find_topic(t.name);
        if (info == nullptr || static_cast<std::int32_t>(info->partitions.size()) < t.num_partitions) {
          ready = false;
          break;
        }
        for (const auto& p : info->partitions) ready = ready && p.leader_id >= 0;
      }
      if (ready) co_return kb::result<void>{};
      co_await sleep(500ms);
    }
    co_return fail(errc::timeout, std::string("created target topics have no partition leaders after 30 s"));
  }

  std::uint64_t buffered_bytes() const noexcept { return producer_->queued_bytes() + preparing_bytes_; }

  /// End offsets of many partitions: one ListOffsets per leader (not one per partition, which
  /// costs a round trip each with a thousand partitions); retried while leaders settle. A topic
  /// of 1,000 partitions created a moment ago can take well over 5 s to answer for all of them
  /// on a busy broker, so partitions are retried for up to 60 s (240 rounds of 250 ms).
  asio::awaitable<kb::result<std::map<net::topic_partition, std::int64_t>>> async_end_offsets(
      std::vector<net::topic_partition> todo) {
    std::map<net::topic_partition, std::int64_t> out;
    std::map<net::topic_partition, std::string> last_error;  ///< the broker's latest answer per partition
    std::vector<std::string> names;
    for (const auto& tp : todo)
      if (std::find(names.begin(), names.end(), tp.topic) == names.end()) names.push_back(tp.topic);
    for (int attempt = 0; attempt < 240 && !todo.empty(); ++attempt) {
      if (attempt > 0) {
        (void)co_await cluster_->async_refresh_metadata(names);
        co_await sleep(250ms);
      }
      std::map<std::int32_t, std::vector<net::topic_partition>> by_leader;
      std::vector<net::topic_partition> retry;
      for (const auto& tp : todo) {
        if (auto leader = cluster_->leader(tp)) by_leader[*leader].push_back(tp);
        else retry.push_back(tp);
      }
      for (const auto& [leader, tps] : by_leader) {
        protocol::list_offsets_request req;
        for (const auto& tp : tps) {
          if (req.topics.empty() || req.topics.back().name != tp.topic) {
            protocol::list_offsets_request::topic topic;
            topic.name = tp.topic;
            req.topics.push_back(std::move(topic));
          }
          protocol::list_offsets_request::partition part;
          part.partition_index = tp.partition;
          part.timestamp = protocol::latest_timestamp;
          req.topics.back().partitions.push_back(part);
        }
        auto r = co_await cluster_->async_send(leader, req);
        if (!r) co_return fail(std::move(r.error()));
        std::set<net::topic_partition> answered;
        for (const auto& t : r->topics) {
          for (const auto& p : t.partitions) {
            const net::topic_partition tp{t.name, p.partition_index};
            if (p.error_code == 0) {
              out[tp] = p.offset;
              answered.insert(tp);
            } else if (protocol::classify(p.error_code) == protocol::error_class::authorization) {
              co_return fail(errc::authorization, fmt::format("Not authorized to access topic '{}': the restore "
                                                              "principal needs Describe on it",
                                                              t.name));
            } else if (protocol::classify(p.error_code) == protocol::error_class::fatal ||
                       protocol::classify(p.error_code) == protocol::error_class::unsupported) {
              co_return fail(errc::broker, fmt::format("cannot read the end offset of {}[{}]: ListOffsets returned {}",
                                                       t.name, p.partition_index, kafka_error(p.error_code, {})));
            } else {
              last_error[tp] = kafka_error(p.error_code, {});  // retried while leaders settle
            }
          }
        }
        for (const auto& tp : tps)
          if (!answered.contains(tp)) retry.push_back(tp);
      }
      todo = std::move(retry);
    }
    if (!todo.empty()) {
      const auto why = last_error.find(todo.front());
      co_return fail(errc::timeout,
                     fmt::format("cannot read the end offset of {}[{}]{} after 60 s: {}", todo.front().topic,
                                 todo.front().partition,
                                 todo.size() > 1 ? fmt::format(" (and {} more)", todo.size() - 1) : std::string(),
                                 why != last_error.end() ? "the broker kept answering " + why->second
                                                         : std::string("no leader answered for it; is the target cluster healthy?")));
    }
    co_return out;
  }

  asio::awaitable<kb::result<void>> async_prepare_lanes() {
    std::vector<std::string> names;
    for (const auto& t : plan_.topics) names.push_back(t.target);
    if (auto r = co_await cluster_->async_refresh_metadata(names); !r) co_return r;
    std::vector<net::topic_partition> direct;
    for (std::size_t i = 0; i < plan_.partitions.size(); ++i) {
      const auto& p = plan_.partitions[i];
      // Asked even for topics created just now: ListOffsets answering is also the sign that a
      // new partition accepts Produce (metadata names its leader earlier than that).
      if (p.target_partition >= 0 && !state_.partitions[i].done) direct.push_back({p.target_topic, p.target_partition});
    }
    std::sort(direct.begin(), direct.end());
    direct.erase(std::unique(direct.begin(), direct.end()), direct.end());
    auto ends = co_await async_end_offsets(std::move(direct));
    if (!ends) co_return fail(std::move(ends.error()));

    for (std::size_t i = 0; i < plan_.partitions.size(); ++i) {
      const auto& p = plan_.partitions[i];
      auto& s = state_.partitions[i];
      if (p.target_partition < 0) {
        const auto* t = std::find_if(plan_.topics.data(), plan_.topics.data() + plan_.topics.size(),
                                     [&](const planned_topic& x) { return x.source == p.source_topic; });
        if (t == plan_.topics.data() + plan_.topics.size()) {
          co_return fail(errc::internal, fmt::format("no planned topic for {}[{}]", p.source_topic, p.source_partition));
        }
        for (std::int32_t q = 0; q < t->target_partitions; ++q) producer_->lane_for(p.target_topic, q).l.sources.insert(i);
        if (resumed_ && !s.done) {
          summary_.warnings.push_back(fmt::format("{}[{}] is repartitioned: an interrupted restore of it restarts from "
                                                  "the beginning and may duplicate records",
                                                  p.source_topic, p.source_partition));
          s = partition_state{p.source_topic, p.source_partition, p.target_topic, -1, 0, -1, 0, 0, false, {}, {}};
        }
        continue;
      }
      auto& l = producer_->lane_for(p.target_topic, p.target_partition).l;
      l.sources.insert(i);
      if (s.done) continue;
      const auto found = ends->find(l.tp());
      if (found == ends->end()) co_return fail(errc::internal, fmt::format("no end offset read for {}[{}]", l.tp().topic, l.tp().partition));
      const std::int64_t* end = &found->second;
      if (s.target_end < 0) {
        s.target_end = *end;  // fresh: remember where our records will start
        if (*end > 0 && !warned_nonempty_.contains(l.tp().topic)) {
          warned_nonempty_.insert(l.tp().topic);
          summary_.warnings.push_back(fmt::format("target topic '{}' already holds records (partition {} ends at offset "
                                                  "{}): restored records are appended after them",
                                                  l.tp().topic, l.tp().partition, *end));
        }
      } else if (*end < s.target_end) {
        co_return fail(errc::conflict,
                       fmt::format("target {}[{}] ends at offset {} but the saved restore state says {} records were "
                                   "written up to {}: the topic was truncated or recreated; delete {} to restart",
                                   l.tp().topic, l.tp().partition, *end, s.records, s.target_end,
                                   state_at_.where));
      } else if (*end > s.target_end) {
        // Acknowledged after the last checkpoint (or in flight at the crash): skip that many.
        l.add_skip(*end - s.target_end);
        summary_.records_skipped_on_resume += static_cast<std::uint64_t>(*end - s.target_end);
      }
      l.set_target_next(s.target_end);
    }
    for (auto& [tp, e] : producer_->lanes()) {
      if (e->l.skip_records() > 0 && e->l.sources.size() > 1) {
        co_return fail(errc::conflict, fmt::format("cannot resume: {}[{}] is written from several source partitions, so "
                                                   "the records after the last checkpoint cannot be attributed; restore "
                                                   "into a fresh topic",
                                                   tp.topic, tp.partition));
      }
    }
    co_return kb::result<void>{};
  }

  // ---- readers ----------------------------------------------------------------------------
  asio::awaitable<void> async_reader_loop() {
    while (!reading_halted()) {
      const std::size_t i = next_partition_++;
      if (i >= plan_.partitions.size()) break;
      if (state_.partitions[i].done) continue;
      if (auto r = co_await async_read_partition(i); !r) {
        // Damaged data (or a storage failure) stops all reading, but what was verified and
        // queued before it still goes out: the target ends at a clean point the error reports.
        if (!read_error_) read_error_ = std::move(r.error());
        break;
      }
    }
    --readers_running_;
    producer_->notify();
  }

  asio::awaitable<kb::result<void>> async_read_partition(std::size_t index) {
    const auto& p = plan_.partitions[index];
    std::int64_t next = state_.partitions[index].next_source_offset;
    const planned_topic* topic = nullptr;
    for (const auto& t : plan_.topics)
      if (t.source == p.source_topic) topic = &t;
    if (topic == nullptr) co_return fail(errc::internal, fmt::format("no planned topic for {}[{}]", p.source_topic, p.source_partition));
    std::optional<murmur2_partitioner> router;
    if (topic->repartition) {
      // The same meaning as the plan and --dry-run print: murmur2 by key, or round-robin.
      router.emplace(topic->repartition->target_partitions,
                     topic->repartition->strategy == repartition_strategy::murmur2);
    }
    const std::size_t max_batch = max_batch_bytes(plan_, existing_, p.target_topic);
    for (const auto& seg : p.segments) {
      for (std::uint32_t f : seg.frames) {
        if (reading_halted()) co_return kb::result<void>{};
        const auto& fe = seg.index->frames[f];
        if (fe.last_offset < next) continue;
        // The memory budget (restore_options::max_buffer_bytes) covers frames being prepared and
        // batches queued in every lane; one frame may always go ahead so a restore cannot stall.
        const std::uint64_t need = fe.raw_size;
        while (buffered_bytes() > 0 && buffered_bytes() + need > o_.max_buffer_bytes && !reading_halted())
          co_await producer_->budget_waiters().wait(io_.get_executor(), 200ms);
        if (reading_halted()) co_return kb::result<void>{};
        preparing_bytes_ += need;  // released below once its batches are queued (or on error)
        auto job = [this, &seg, &p, f, next, max_batch]() {
          return read_frame_batches(store_, p, seg, f, next, o_.plan.window, max_batch);
        };
        // Named lambdas: g++ 12 destroys lambda temporaries inside co_await expressions twice.
        frame_work work = co_await on_pool(std::move(job));
        if (work.err) {
          preparing_bytes_ -= need;
          co_return fail(std::move(*work.err));
        }
        next = work.next_offset;
        summary_.batches_passed += work.stats.passed;
        summary_.batches_reencoded += work.stats.reencoded;
        summary_.batches_dropped += work.stats.dropped;
        if (router) {
          auto split = [&work, &router, max_batch]() { return route_batches(work.outputs, *router, max_batch); };
          auto routed = co_await on_pool(std::move(split));
          if (!routed) {
            preparing_bytes_ -= need;
            co_return fail(std::move(routed.error()));
          }
          for (auto& [part, batches] : *routed) {
            for (auto& ob : batches) {
              if (auto r = co_await producer_->async_enqueue(producer_->lane_for(p.target_topic, part), std::move(ob), index); !r) {
                preparing_bytes_ -= need;
                co_return r;
              }
            }
          }
        } else {
          auto& l = producer_->lane_for(p.target_topic, p.target_partition);
          for (auto& ob : work.outputs) {
            if (auto r = co_await producer_->async_enqueue(l, std::move(ob), index); !r) {
              preparing_bytes_ -= need;
              co_return r;
            }
          }
        }
        preparing_bytes_ -= need;
      }
    }
    // Everything read: the partition is done once its lane has acknowledged it all.
    pending_done_.push_back({index, p.last_offset + 1});
    producer_->notify();
    co_return kb::result<void>{};
  }

  // Partitions whose reader finished are done once no batch of theirs waits in any lane.
  void settle_done() {
    for (auto it = pending_done_.begin(); it != pending_done_.end();) {
      const auto [index, end] = *it;
      if (producer_->waiting(index) > 0) {
        ++it;
        continue;
      }
      auto& s = state_.partitions[index];
      s.next_source_offset = std::max(s.next_source_offset, end);
      s.done = true;
      dirty_ = true;
      it = pending_done_.erase(it);
    }
  }

  // ---- consumer groups --------------------------------------------------------------------
  asio::awaitable<kb::result<void>> async_commit_groups() {
    if (!o_.reset_consumer_offsets || plan_.group_offsets.empty()) co_return kb::result<void>{};
    auto find = [this](const std::string& group) { return checks_->async_coordinator(group); };
    auto groups = co_await restore::async_commit_groups(*cluster_, plan_.group_offsets, state_.partitions,
                                                        coordinators_, std::move(find));
    if (!groups) co_return fail(std::move(groups.error()));
    summary_.groups = std::move(*groups);
    co_return kb::result<void>{};
  }

  void finish_summary() {
    summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    for (const auto& t : plan_.topics) {
      topic_summary ts{t.source, t.target, 0, 0};
      for (const auto& s : state_.partitions) {
        if (s.source_topic != t.source) continue;
        ts.records += s.records;
        ts.bytes += s.bytes;
      }
      summary_.topics.push_back(ts);
    }
  }

  storage::object_store& store_;
  const restore_options& o_;
  restore_plan plan_;
  asio::io_context io_;
  asio::thread_pool pool_;
  wake_signal checkpoint_wake_;  ///< ends the checkpoint loop's sleep once the dispatcher is done
  std::shared_ptr<net::cluster> cluster_;
  restore_run run_;  ///< state, summary and the first fatal error, shared with the producer
  restore_summary& summary_ = run_.summary;
  restore_state& state_ = run_.state;
  std::optional<error>& fatal_ = run_.fatal;
  bool& dirty_ = run_.dirty;
  std::set<std::string> existing_;
  std::set<std::string> warned_nonempty_;
  std::map<std::string, std::int32_t> topic_ops_;  ///< authorized operations of the targets
  std::map<std::string, target_topic_status> target_status_;  ///< exists? topic id? (async_check_target)
  state_location state_at_;
  std::vector<protocol::create_topics_request::topic> to_create_;
  std::map<std::string, std::int32_t> coordinators_;
  std::optional<target_check> checks_;  ///< set by async_check_target
  std::optional<producer> producer_;    ///< set once the brokers answered
  std::vector<std::pair<std::size_t, std::int64_t>> pending_done_;
  std::uint64_t preparing_bytes_ = 0;           ///< raw bytes of frames being read and rewritten
  std::optional<error> read_error_;  ///< a reader's failure: reading stops, the queued rest is produced
  bool reading_halted() const { return fatal_ || read_error_ || stopping(); }
  std::size_t next_partition_ = 0;
  std::size_t readers_running_ = 0;
  bool resumed_ = false;
  bool finished_ = false;
  bool saving_ = false;
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<metrics_server> metrics_;
  bool brokers_ok_ = false;  ///< /ready: the target answered metadata (set on the io thread)
};

}  // namespace

std::string render_metrics(const restore_metrics& m) {
  std::string out;
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help, std::uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}{{restore_id=\"{}\"}} {}\n", name, help, name, type, name,
                       m.restore_id, value);
  };
  metric("kafka_backup_restore_records_total", "counter", "Records acknowledged by the target cluster.", m.records);
  metric("kafka_backup_restore_bytes_total", "counter", "Record batch bytes acknowledged by the target cluster.",
         m.bytes);
  metric("kafka_backup_restore_batches_passed_total", "counter", "Stored batches produced unchanged but for the header.",
         m.batches_passed);
  metric("kafka_backup_restore_batches_reencoded_total", "counter",
         "Stored batches re-encoded (compaction gaps, window cuts, legacy, LogAppendTime, size).", m.batches_reencoded);
  metric("kafka_backup_restore_batches_dropped_total", "counter",
         "Stored batches dropped (control, aborted, empty, outside the window).", m.batches_dropped);
  metric("kafka_backup_restore_produce_retries_total", "counter", "Produce attempts retried.", m.produce_retries);
  metric("kafka_backup_restore_requests_in_flight", "gauge", "Produce requests awaiting a response.",
         m.requests_in_flight);
  metric("kafka_backup_restore_partitions", "gauge", "Source partitions in the restore plan.", m.partitions_total);
  metric("kafka_backup_restore_partitions_done", "gauge", "Source partitions completely restored.", m.partitions_done);
  metric("kafka_backup_restore_planned_bytes", "gauge", "Raw bytes of the frames the plan downloads.", m.planned_bytes);
  return out;
}

kb::result<restore_summary> run_restore(storage::object_store& store, const restore_options& options) {
  share_one_allocator_arena();  // frames are read on the pool and freed on the engine thread
  auto plan = build_plan(store, options.plan);
  if (!plan) return fail(std::move(plan.error()));
  engine e(store, options, std::move(*plan));
  return e.run();
}

}  // namespace kb::pipeline::restore
