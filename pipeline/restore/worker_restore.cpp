#include "pipeline/restore/worker_restore.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

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
#include "pipeline/pool_call.hpp"
#include "pipeline/restore/shared_state.hpp"
#include "pipeline/wake_signal.hpp"
#include "pipeline/workers/driver.hpp"
#include "pipeline/workers/partition_list.hpp"
#include "storage/object_store.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::restore {

namespace asio = boost::asio;
namespace wk = workers;
using namespace std::chrono_literals;

namespace {

template <class T>
void add_unique(std::vector<T>& into, const std::vector<T>& more) {
  for (const auto& x : more)
    if (std::find(into.begin(), into.end(), x) == into.end()) into.push_back(x);
}

void add_summary(restore_summary& into, const restore_summary& s) {
  into.records += s.records;
  into.bytes += s.bytes;
  into.batches_passed += s.batches_passed;
  into.batches_reencoded += s.batches_reencoded;
  into.batches_dropped += s.batches_dropped;
  into.batches_merged += s.batches_merged;
  into.batches_merged_into += s.batches_merged_into;
  into.records_skipped_on_resume += s.records_skipped_on_resume;
  for (const auto& t : s.topics) {
    auto it = std::find_if(into.topics.begin(), into.topics.end(),
                           [&](const topic_summary& x) { return x.source == t.source && x.target == t.target; });
    if (it == into.topics.end()) it = into.topics.insert(into.topics.end(), topic_summary{t.source, t.target, 0, 0});
    it->records += t.records;
    it->bytes += t.bytes;
  }
  add_unique(into.warnings, s.warnings);
  add_unique(into.created_topics, s.created_topics);
  add_unique(into.holes, s.holes);
  if (!s.groups.empty()) into.groups = s.groups;
}

}  // namespace

struct worker_restore::impl {
  impl(restore_options o, wk::member_config m, storage::object_store& s)
      : opts(std::move(o)), member_cfg(std::move(m)), store(s), wake(io.get_executor()) {}

  restore_options opts;
  wk::member_config member_cfg;
  storage::object_store& store;
  restore_plan plan;
  std::vector<source_key> all;  ///< every source partition of the plan
  asio::io_context io;
  worker_pool pool{1};  ///< reads of the shared state, off the thread that heartbeats
  wake_signal wake;
  std::shared_ptr<net::cluster> cluster;
  std::unique_ptr<wk::member_driver> driver;

  std::atomic<bool> stop_requested{false};
  bool leaving = false;
  bool revoking = false;
  bool driver_done = false;
  bool interrupted = false;
  bool idle = false;     ///< own partitions done, the group's not yet: watch the shared state
  bool polling = false;  ///< a read of the shared state is under way
  std::chrono::steady_clock::time_point next_poll;
  std::optional<error> first_error;
  restore_summary totals;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // The current generation's engine, on a thread of its own (run_restore blocks).
  std::thread job_thread;
  std::atomic<bool> gen_stop{false};
  std::atomic<bool> job_finished{false};
  bool job_running = false;
  std::optional<kb::result<restore_summary>> job_result;
  std::int32_t job_generation = -1;
  std::optional<wk::assigned_event> pending;  ///< assigned while the final run was still going

  std::string member() const { return driver ? driver->member().member_id() : std::string("?"); }

  /// The leader's work items: every source partition, weighted by the bytes left to produce
  /// (the planned frame bytes; 0 once the shared state says the partition is done).
  std::vector<wk::work_item> work_items(const kb::result<std::optional<restore_state>>& st) const {
    std::vector<wk::work_item> items;
    for (const auto& p : plan.partitions) {
      bool done = false;
      if (st && *st) {
        for (const auto& s : (*st)->partitions)
          if (s.source_topic == p.source_topic && s.source_partition == p.source_partition) done = s.done;
      }
      items.push_back({{p.source_topic, p.source_partition}, done ? 0 : static_cast<std::int64_t>(p.bytes)});
    }
    return items;
  }

  asio::awaitable<std::vector<wk::work_item>> async_work() {
    // The pool thread reads its own copy of the id (totals belong to the io thread); the copy lives
    // in this frame and the lambda captures only references: g++ 12 may destroy by-value captures
    // moved through a co_await frame twice.
    const std::string id = totals.restore_id;
    auto load = [this, &id] { return shared_state(store, plan.backup.backup_id, id).load(all); };
    auto st = co_await async_call_on_pool(pool, io, std::move(load));
    if (!st) kb::log::warn("restore worker: the shared state cannot be read ({}); partitions are weighted by their "
                           "planned bytes", st.error().message);
    co_return work_items(st);
  }

  // ---- the engine per generation ------------------------------------------------------------

  void start_job(const std::vector<wk::topic_partition>& partitions, std::int32_t generation) {
    auto o = opts;
    worker_subset subset;
    for (const auto& tp : partitions) subset.partitions.insert({tp.topic, tp.partition});
    subset.member_id = member();
    subset.generation = generation;
    o.worker = std::move(subset);
    o.stop = &gen_stop;
    o.restore_id = totals.restore_id;  // derived once from the whole plan: the same for every worker
    job_generation = generation;
    gen_stop = false;
    job_finished = false;
    job_result.reset();
    job_running = true;
    idle = false;
    job_thread = std::thread([this, o = std::move(o)] {
      auto r = run_restore(store, o, plan);
      job_result = std::move(r);
      job_finished = true;
      asio::post(io, [this] { wake.notify(); });
    });
  }

  void collect_job() {
    if (job_thread.joinable()) job_thread.join();
    job_running = false;
    if (!job_result) return;
    auto r = std::move(*job_result);
    job_result.reset();
    if (!r) {
      if (r.error().is(errc::cancelled) && gen_stop.load()) {
        kb::log::info("restore worker {}: generation {} stopped; the state of its partitions is saved", member(),
                      job_generation);
      } else {
        kb::log::warn("restore worker {}: generation {} failed: {}", member(), job_generation, r.error().message);
        if (!first_error) first_error = std::move(r.error());
        leave();
      }
    } else {
      add_summary(totals, *r);
      kb::log::info("restore worker {}: generation {} complete: {} partition(s), {} records; this worker so far: {} "
                    "records",
                    member(), job_generation, r->partitions, r->records, totals.records);
      if (r->group_done) {
        kb::log::info("restore worker {}: every partition of restore {} is done{}; leaving the group", member(),
                      totals.restore_id, r->groups.empty() ? "" : " and the consumer-group offsets are committed");
        leave();
      } else {
        kb::log::info("restore worker {}: its partitions are done; waiting until every worker's are (the groups are "
                      "committed then)",
                      member());
        idle = true;
        next_poll = std::chrono::steady_clock::now() + 1s;
      }
    }
    if (pending && !leaving) {
      auto ev = std::move(*pending);
      pending.reset();
      on_assigned(ev);
    }
  }

  /// Stops the running engine (its state is saved) and waits for it.
  asio::awaitable<void> async_stop_job() {
    if (!job_running) co_return;
    gen_stop = true;
    asio::steady_timer t(io);
    while (!job_finished.load()) {
      t.expires_after(50ms);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    collect_job();
  }

  void on_assigned(const wk::assigned_event& ev) {
    const bool leader = driver->member().is_leader();
    kb::log::info("restore worker {}: generation {}{}: {} partition(s): {}", member(), ev.generation,
                  leader ? " (leader)" : "", ev.partitions.size(), wk::describe_partitions(ev.partitions));
    if (leaving || stop_requested.load()) return;
    if (job_running) {
      // The final run over every (done) partition is still committing: this assignment next.
      pending = ev;
      return;
    }
    if (ev.partitions.empty()) {
      idle = true;
      next_poll = std::chrono::steady_clock::now();
      return;
    }
    start_job(ev.partitions, ev.generation);
  }

  void leave() {
    if (leaving) return;
    leaving = true;
    idle = false;
    if (driver) driver->leave();
  }

  asio::awaitable<void> async_on_revoked(wk::revoked_event ev) {
    revoking = true;
    idle = false;
    kb::log::info("restore worker {}: {} {} partition(s){}; stopping them and saving their state", member(),
                  ev.lost ? "lost" : "revoked", ev.partitions.size(),
                  ev.lost ? " (the session expired: another worker may own them already)" : "");
    co_await async_stop_job();
    if (!leaving) driver->set_work(co_await async_work());
    revoking = false;
  }

  /// Idle: reads the shared state about every second; once every partition is done, one run of
  /// the engine over all of them (nothing left to produce) writes the offset report and commits.
  void poll_shared_state() {
    polling = true;
    auto read = [this, id = totals.restore_id] {
      auto st = shared_state(store, plan.backup.backup_id, id).load(all);
      return st && *st && every_partition_done(**st, all);
    };
    call_on_pool(pool, io, std::move(read), [this](bool done) {
      polling = false;
      next_poll = std::chrono::steady_clock::now() + 1s;
      if (!done || !idle || leaving || revoking || job_running) return;
      kb::log::info("restore worker {}: every partition is done; committing the groups from the shared state",
                    member());
      std::vector<wk::topic_partition> every;
      for (const auto& [topic, partition] : all) every.push_back({topic, partition});
      start_job(every, job_generation);
    });
  }

  /// Watches the stop request, the engine's end and (idle) the shared state.
  asio::awaitable<void> async_monitor() {
    while (!driver_done) {
      if (!revoking) {
        if (stop_requested.load() && !leaving) {
          kb::log::info("restore worker {}: stop requested; saving the state and leaving the group", member());
          interrupted = true;
          co_await async_stop_job();
          leave();
        } else if (job_running && job_finished.load()) {
          collect_job();
        } else if (idle && !job_running && !polling && !leaving && std::chrono::steady_clock::now() >= next_poll) {
          poll_shared_state();
        }
      }
      co_await wake.wait(100ms);
    }
  }

  asio::awaitable<kb::result<void>> async_main() {
    auto cluster_opts = opts.target;
    cluster_opts.max_attempts = std::min(cluster_opts.max_attempts, 3);
    cluster = net::cluster::create(io.get_executor(), cluster_opts);
    if (auto r = co_await cluster->async_bootstrap(); !r) co_return r;
    totals.restore_id = opts.restore_id.empty()
                            ? derive_restore_id(plan, cluster->cluster_id().value_or(""), opts.plan.window)
                            : opts.restore_id;
    auto work = co_await async_work();
    wk::member_hooks hooks;
    hooks.on_assigned = [this](const wk::assigned_event& ev) { on_assigned(ev); };
    hooks.on_revoked = [this](wk::revoked_event ev) { return async_on_revoked(std::move(ev)); };
    driver = std::make_unique<wk::member_driver>(io.get_executor(), *cluster, member_cfg, std::move(hooks));
    driver->set_work(std::move(work));
    kb::log::info("restore {} of backup '{}': worker of group '{}' (protocol type {}); {} source partition(s) in "
                  "the plan",
                  totals.restore_id, plan.backup.backup_id, member_cfg.group_id, wk::protocol_type, all.size());
    asio::co_spawn(io, async_monitor(), asio::detached);
    auto r = co_await driver->async_run();
    driver_done = true;
    wake.notify();
    co_await async_stop_job();  // a fatal group error while the engine runs: save its state first
    co_return r;
  }

  kb::result<restore_summary> run() {
    auto built = build_plan(store, opts.plan);
    if (!built) return fail(std::move(built.error()));
    plan = std::move(*built);
    if (auto ok = check_plan_for_workers(plan); !ok) return fail(std::move(ok.error()));
    for (const auto& p : plan.partitions) all.emplace_back(p.source_topic, p.source_partition);
    totals.plan_text = describe_plan(plan, opts.plan);
    totals.partitions = plan.partitions.size();
    std::optional<kb::result<void>> outcome;
    asio::co_spawn(io, async_main(), [&](const std::exception_ptr& e, kb::result<void> r) {
      outcome = e ? kb::result<void>(fail(error_from_exception(e, "the restore worker"))) : std::move(r);
      if (cluster) cluster->close();
    });
    while (!outcome) io.run_one();
    io.restart();
    io.poll();
    if (job_thread.joinable()) {
      gen_stop = true;
      job_thread.join();
    }
    pool.shutdown();
    io.restart();
    io.poll();  // the last posts of the pool
    totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!*outcome) return fail(std::move(outcome->error()));
    if (first_error) return fail(*first_error);
    if (interrupted) {
      return fail(errc::cancelled, std::string("restore interrupted; start the workers again to resume (each "
                                               "partition resumes from its saved state)"));
    }
    return std::move(totals);
  }
};

worker_restore::worker_restore(restore_options options, wk::member_config member, storage::object_store& store)
    : impl_(std::make_unique<impl>(std::move(options), std::move(member), store)) {}
worker_restore::~worker_restore() = default;

kb::result<restore_summary> worker_restore::run() { return impl_->run(); }

void worker_restore::request_stop() noexcept {
  impl_->stop_requested = true;  // the monitor polls it at least every 100 ms
}

}  // namespace kb::pipeline::restore
