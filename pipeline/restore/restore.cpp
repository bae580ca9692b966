// The restore engine. One io_context thread owns the cluster, the lanes (one per target
// partition) and the dispatcher; storage reads and batch rewriting run on a worker_pool (pool_call.hpp).
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
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "pipeline/exception_error.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/metrics_server.hpp"
#include "pipeline/pool_call.hpp"
#include "pipeline/restore/end_offsets.hpp"
#include "pipeline/restore/engine_metrics.hpp"
#include "pipeline/restore/lane.hpp"
#include "pipeline/restore/offset_map.hpp"
#include "pipeline/restore/partitioner.hpp"
#include "pipeline/restore/producer.hpp"
#include "pipeline/restore/reader_loop.hpp"
#include "pipeline/restore/reader.hpp"
#include "pipeline/restore/restore_state.hpp"
#include "pipeline/restore/target_check.hpp"
#include "pipeline/restore/topic_creation.hpp"
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

std::vector<topic_summary> topic_summaries(const restore_plan& plan, const restore_state& state) {
  std::vector<topic_summary> out;
  for (const auto& t : plan.topics) {
    topic_summary ts{t.source, t.target, 0, 0};
    for (const auto& s : state.partitions) {
      if (s.source_topic != t.source) continue;
      ts.records += s.records;
      ts.bytes += s.bytes;
    }
    out.push_back(ts);
  }
  return out;
}

class engine {
 public:
  engine(storage::object_store& store, const restore_options& o, restore_plan plan)
      : store_(store),
        o_(o),
        plan_(std::move(plan)),
        // Each reader has at most one call in flight, the state file one more: with this much room
        // submit never blocks (it would block the io thread).
        pool_(2, std::size_t{o.max_concurrent_partitions} + 16),
        checkpoint_wake_(io_.get_executor()) {
    run_.stop = o.stop;
  }

  kb::result<restore_summary> run() {
    std::optional<kb::result<void>> outcome;
    asio::co_spawn(io_, async_main(), [&](const std::exception_ptr& e, kb::result<void> r) {
      outcome = e ? kb::result<void>(fail(error_from_exception(e, "the restore engine"))) : std::move(r);
      if (cluster_) cluster_->close();
      if (metrics_) metrics_->stop();  // an idle scraper must not keep io_.run() going
    });
    io_.run();
    pool_.shutdown();
    if (!outcome) return fail(errc::internal, "the restore engine stopped without a result");
    if (!*outcome) return fail(std::move(outcome->error()));
    return std::move(summary_);
  }

 private:
  // ---- helpers ----------------------------------------------------------------------------
  template <class F>
  auto on_pool(F f) {
    return async_call_on_pool(pool_, io_, std::move(f));
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
    summary_.restore_id =
        o_.restore_id.empty() ? derive_restore_id(plan_, cluster_->cluster_id().value_or(""), o_.plan.window) : o_.restore_id;
    if (o_.dry_run) co_return kb::result<void>{};
    if (o_.worker) {
      all_partitions_ = restrict_plan(plan_, *o_.worker);
      summary_.partitions = plan_.partitions.size();
      shared_.emplace(store_, plan_.backup.backup_id, summary_.restore_id);
    }

    if (auto r = co_await async_load_state(); !r) co_return r;
    if (auto r = co_await async_create_topics(*cluster_, to_create_); !r) co_return r;
    if (auto r = co_await producer_->async_init(); !r) co_return r;
    if (auto r = co_await async_prepare_lanes(); !r) co_return r;
    kb::log::debug("restore {}: {} target partitions ready", summary_.restore_id, producer_->lanes().size());
    note_target_ids();
    if (auto r = co_await async_save_state(); !r) co_return r;  // before the first produce
    kb::log::debug("restore {}: initial state saved", summary_.restore_id);

    // Readers (bounded concurrency), the dispatcher and the checkpoint writer.
    readers_.emplace(reader_loop::context{store_, plan_, o_, existing_, io_, pool_}, run_, *producer_);
    readers_->start();
    asio::co_spawn(io_, async_checkpoint_loop(), asio::detached);
    dispatch_hooks hooks;
    hooks.settle_done = [this] { readers_->settle_done(); };
    hooks.input_done = [this] { return readers_->finished(); };
    hooks.progress = [this] {
      if (o_.on_progress) o_.on_progress(summary_.records, summary_.bytes, plan_.bytes());
    };
    co_await producer_->async_run(std::move(hooks));
    if (auto e = readers_->take_error(); e && !fatal_) fatal_ = std::move(e);
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
    if (o_.worker) {
      if (auto r = co_await async_finish_worker(); !r) co_return r;
    } else {
      if (auto r = write_offset_report(state_); !r) co_return r;
      if (auto r = co_await async_commit_groups(state_.partitions); !r) co_return r;
    }
    summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    summary_.topics = topic_summaries(plan_, state_);
    co_return kb::result<void>{};
  }

  // ---- metrics endpoint ---------------------------------------------------------------------
  kb::result<void> open_metrics() {
    auto server = open_restore_metrics(
        io_.get_executor(), *o_.metrics, [this] { return brokers_ok_; },
        [this] { return snapshot_metrics(run_, producer_ ? &*producer_ : nullptr, plan_); });
    if (!server) return fail(std::move(server.error()));
    metrics_ = std::move(*server);
    return {};
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
    // Workers: one object per partition in the store (shared_state.hpp); else one state file.
    auto choose = [this, choice] {
      return shared_ ? kb::result<state_location>(state_location{{}, {}, shared_->where(), {}})
                     : choose_state_location(store_, choice);
    };
    auto at = co_await on_pool(std::move(choose));
    if (!at) co_return fail(std::move(at.error()));
    state_at_ = std::move(*at);
    auto load = [this] { return shared_ ? shared_->open(plan_) : load_restore_state(store_, state_at_); };
    auto loaded = co_await on_pool(std::move(load));
    if (!loaded) co_return fail(std::move(loaded.error()));
    co_return co_await async_adopt_state(std::move(*loaded));
  }

  /// The plan's partitions take over what `old` (the saved state, if any) recorded.
  asio::awaitable<kb::result<void>> async_adopt_state(std::optional<restore_state> old) {
    state_.restore_id = summary_.restore_id;
    state_.backup_id = plan_.backup.backup_id;
    for (const auto& p : plan_.partitions) {
      partition_state s;
      s.source_topic = p.source_topic;
      s.source_partition = p.source_partition;
      s.target_topic = p.target_topic;
      s.target_partition = p.target_partition;
      state_.partitions.push_back(std::move(s));
    }
    if (old) adopt_saved_progress(state_, *old);
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
        auto ends = co_await async_end_offsets(*cluster_, std::move(finished));
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
      if (all_done && !o_.worker) {
        summary_.warnings.push_back(fmt::format(
            "restore {} was already completed by an earlier run: nothing is produced again (group offsets are "
            "committed again); to restore once more delete {} or choose another target topic",
            summary_.restore_id, state_at_.where));
      } else if (!all_done) {
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
    auto save = [this, snapshot = state_] {
      return shared_ ? shared_->save(snapshot) : save_restore_state(store_, state_at_, snapshot);
    };
    auto r = co_await on_pool(std::move(save));
    co_return r;
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
    auto ends = co_await async_end_offsets(*cluster_, std::move(direct));
    if (!ends) co_return fail(std::move(ends.error()));

    lane_writers writers;
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
      writers[l.tp()].first = *end;
      writers[l.tp()].second.push_back(&s);
    }
    co_return producer_->start_lanes(writers);  // the producer each lane writes with
  }

  // ---- consumer groups --------------------------------------------------------------------
  asio::awaitable<kb::result<void>> async_commit_groups(const std::vector<partition_state>& partitions) {
    if (!o_.reset_consumer_offsets || plan_.group_offsets.empty()) co_return kb::result<void>{};
    auto find = [this](const std::string& group) { return checks_->async_coordinator(group); };
    auto groups = co_await restore::async_commit_groups(*cluster_, plan_.group_offsets, partitions,
                                                        coordinators_, std::move(find));
    if (!groups) co_return fail(std::move(groups.error()));
    summary_.groups = std::move(*groups);
    co_return kb::result<void>{};
  }

  /// Worker mode, once this worker's partitions are done: when the shared state says every
  /// partition of the plan is done, the offset report and the group commit from all of them
  /// (every worker that gets here commits the same offsets); otherwise group_done is false.
  asio::awaitable<kb::result<void>> async_finish_worker() {
    auto load = [this] { return shared_->load_if_all_done(all_partitions_); };
    auto merged = co_await on_pool(std::move(load));
    if (!merged) co_return fail(std::move(merged.error()));
    summary_.group_done = merged->has_value();
    if (!summary_.group_done) co_return kb::result<void>{};
    if (auto r = write_offset_report(**merged); !r) co_return r;
    co_return co_await async_commit_groups((*merged)->partitions);
  }

  kb::result<void> write_offset_report(const restore_state& st) const {
    return o_.offset_report ? restore::write_offset_report(*o_.offset_report, st) : kb::result<void>{};
  }

  storage::object_store& store_;
  const restore_options& o_;
  restore_plan plan_;
  asio::io_context io_;
  worker_pool pool_;  ///< storage reads, frame checks and rewriting, the state file: off the io thread
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
  std::optional<reader_loop> readers_;  ///< set when reading starts
  std::optional<shared_state> shared_;  ///< worker mode: the per-partition state in the store
  std::vector<source_key> all_partitions_;  ///< worker mode: every partition of the plan
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
  metric("kafka_backup_restore_batches_passed_total", "counter",
         "Stored batches produced whole, header patched (small neighbours merged: batches_merged).", m.batches_passed);
  metric("kafka_backup_restore_batches_reencoded_total", "counter",
         "Stored batches re-encoded (compaction gaps, window cuts, legacy, LogAppendTime, size).", m.batches_reencoded);
  metric("kafka_backup_restore_batches_dropped_total", "counter",
         "Stored batches dropped (control, aborted, empty, outside the window).", m.batches_dropped);
  metric("kafka_backup_restore_batches_merged_total", "counter",
         "Small stored batches merged with their neighbours into larger produce batches.", m.batches_merged);
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
  return run_restore(store, options, std::move(*plan));
}

kb::result<restore_summary> run_restore(storage::object_store& store, const restore_options& options,
                                        restore_plan plan) {
  share_one_allocator_arena();
  engine e(store, options, std::move(plan));
  return e.run();
}

}  // namespace kb::pipeline::restore
