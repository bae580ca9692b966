#include "pipeline/backup/worker_backup.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <set>
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
#include "pipeline/backup/catalog.hpp"
#include "pipeline/exception_error.hpp"
#include "pipeline/backup/worker_marks.hpp"
#include "pipeline/backup/worker_totals.hpp"
#include "pipeline/kafka_admin.hpp"
#include "pipeline/pool_call.hpp"
#include "pipeline/wake_signal.hpp"
#include "pipeline/workers/driver.hpp"
#include "pipeline/workers/partition_list.hpp"
#include "protocol/list_offsets.hpp"
#include "storage/object_store.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::backup {

namespace asio = boost::asio;
namespace sf = storage::format;
namespace wk = workers;
using namespace std::chrono_literals;

/// How often a running worker logs its progress and the leader the group's totals.
constexpr auto group_report_interval = 30s;

namespace {

void add_stats(stats& into, const stats& s) {
  into.records += s.records;
  into.batches += s.batches;
  into.bytes_raw += s.bytes_raw;
  into.bytes_stored += s.bytes_stored;
  into.segments += s.segments;
  into.gaps += s.gaps;
  into.bytes_fetched += s.bytes_fetched;
}

}  // namespace

struct worker_backup::impl {
  impl(options o, wk::member_config m, storage::object_store& s)
      : opts(std::move(o)), member_cfg(std::move(m)), store(s), paths{opts.backup_id}, wake(io.get_executor()) {}

  options opts;
  wk::member_config member_cfg;
  storage::object_store& store;
  sf::backup_paths paths;
  asio::io_context io;
  wake_signal wake;
  std::shared_ptr<net::cluster> cluster;
  std::unique_ptr<kafka_admin> admin;
  std::unique_ptr<wk::member_driver> driver;
  progress_callback on_progress;

  std::atomic<bool> stop_requested{false};
  bool leaving = false;
  bool revoking = false;
  bool driver_done = false;
  std::optional<error> first_error;
  stats totals;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // The current generation's engine, on a thread of its own (backup_job::run blocks).
  std::unique_ptr<backup_job> job;
  std::thread job_thread;
  std::atomic<bool> job_finished{false};
  std::optional<result<stats>> job_result;
  std::int32_t job_generation = -1;
  std::string job_member;
  bool job_leader = false;
  bool job_lost = false;  ///< the session expired: another worker may own the partitions already
  std::set<net::topic_partition> job_partitions;
  bool leave_after_collect = false;

  // Reports: the engine's latest progress (from its thread), the partitions of the group's work.
  std::mutex progress_mutex;
  std::optional<stats> latest_progress;
  std::vector<net::topic_partition> work_tps;
  std::chrono::steady_clock::time_point last_report = std::chrono::steady_clock::now();
  // Store calls (owner records, the group's checkpoints) off the io thread, which heartbeats.
  worker_pool store_pool{1};

  // ---- the leader's work items ------------------------------------------------------------

  /// Every selected partition, weighted by the offsets it holds (end − log start) as the
  /// estimate of bytes to fetch; without offsets (ListOffsets failed) every weight is 0 and the
  /// partitions spread by count.
  asio::awaitable<result<std::vector<wk::work_item>>> async_work() {
    if (auto r = co_await cluster->async_refresh_metadata(); !r) co_return fail(std::move(r.error()));
    catalog cat(store, paths, opts, principal_hint(opts.cluster.connection));
    if (auto r = co_await cat.async_select(*cluster); !r) co_return fail(std::move(r.error()));
    std::vector<net::topic_partition> tps;
    for (const auto& name : cat.topics()) {
      const auto* info = cluster->find_topic(name);
      if (!info) continue;
      for (const auto& p : info->partitions) tps.push_back({name, p.partition});
    }
    auto ends = co_await admin->async_list_offsets(tps, protocol::latest_timestamp);
    auto starts = co_await admin->async_list_offsets(tps, protocol::earliest_timestamp);
    if (!ends || !starts) log::warn("backup workers: ListOffsets failed; partitions are spread by count");
    std::vector<wk::work_item> items;
    work_tps = tps;
    for (const auto& tp : tps) {
      std::int64_t w = 0;
      if (ends && starts && ends->contains(tp) && starts->contains(tp)) w = std::max<std::int64_t>(0, ends->at(tp) - starts->at(tp));
      items.push_back({{tp.topic, tp.partition}, w});
    }
    co_return items;
  }

  // ---- the engine per generation ------------------------------------------------------------

  void start_job(const wk::assigned_event& ev) {
    worker_scope scope;
    scope.group_id = member_cfg.group_id;
    scope.member_id = driver->member().member_id();
    scope.generation = ev.generation;
    scope.leader = driver->member().is_leader();
    for (const auto& tp : ev.partitions) scope.partitions.insert({tp.topic, tp.partition});
    log::info("backup worker {}: generation {}{}: {} partition(s): {}", scope.member_id, ev.generation,
              scope.leader ? " (leader)" : "", scope.partitions.size(), wk::describe_partitions(ev.partitions));
    totals.partitions = scope.partitions.size();
    job_member = scope.member_id;
    job_leader = scope.leader;
    job_lost = false;
    job_partitions = scope.partitions;
    totals.partitions_complete = 0;
    if (scope.partitions.empty() && !scope.leader) {
      // Nothing to back up: a one-shot worker is done, a continuous one waits for a share.
      if (opts.mode != run_mode::continuous && !leaving) {
        log::info("backup worker {}: no partitions to back up in generation {}; leaving the group", scope.member_id,
                  ev.generation);
        leave();
      }
      return;
    }
    scope.instance_id = member_cfg.instance_id.value_or("");
    auto o = opts;
    o.worker = std::move(scope);
    // Each generation's engine serves the metrics endpoint in turn (same port, reuse_address);
    // it is down for the moment between two generations.
    job_generation = ev.generation;
    job_finished = false;
    job_result.reset();
    job = std::make_unique<backup_job>(std::move(o), store);
    job_thread = std::thread([this, member = job_member] {
      auto r = job->run([this, &member](const stats& s) {
        {
          std::lock_guard lock(progress_mutex);
          latest_progress = s;
        }
        if (!on_progress) return;
        auto named = s;
        named.worker = member;
        on_progress(named);
      });
      job_result = std::move(r);
      job_finished = true;
      asio::post(io, [this] { wake.notify(); });
    });
  }

  /// Stops the generation's engine the way SIGTERM does (seal, upload, commit) and waits for it.
  asio::awaitable<void> async_stop_job() {
    if (!job) co_return;
    job->request_stop();
    asio::steady_timer t(io);
    while (!job_finished.load()) {
      t.expires_after(50ms);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_await async_collect_job();
  }

  /// Collects the generation's engine, records the end of this worker's terms on its partitions
  /// (before a leave or a revocation lets the next owner start), and — the leader — logs the
  /// group's totals. Leaving waits until then.
  asio::awaitable<void> async_collect_job() {
    const bool had_job = job != nullptr;
    const bool ok = collect_job();
    if (had_job && ok && !job_lost) {
      // Copies: a next generation may start on this thread while the pool writes (start_job).
      const auto tps = job_partitions;
      const auto member = job_member;
      const auto generation = job_generation;
      // Captures by reference only: g++ 12 miscompiles a lambda temporary with non-trivial captures in co_await.
      auto r = co_await async_call_on_pool(store_pool, io, [this, &tps, &member, &generation]() -> result<void> {
        for (const auto& tp : tps) {
          if (auto e = record_owner_end(store, paths, tp, member, generation, now_ms()); !e) return e;
        }
        return {};
      });
      if (!r) log::warn("backup worker {}: could not record the end of generation {} in the owner records: {}",
                        member, generation, r.error().message);
    }
    if (had_job && job_leader) co_await async_report_group();
    if (leave_after_collect) {
      leave_after_collect = false;
      leave();
    }
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  /// The leader's view of the whole group: every partition's checkpoint against its end offset.
  asio::awaitable<void> async_report_group() {
    last_report = std::chrono::steady_clock::now();
    const auto generation = job_generation;
    const auto leader = job_member;
    if (work_tps.empty()) co_return;
    auto ends = co_await admin->async_list_offsets(work_tps, protocol::latest_timestamp);
    auto starts = co_await admin->async_list_offsets(work_tps, protocol::earliest_timestamp);
    std::vector<group_partition> parts;
    for (const auto& tp : work_tps) {
      group_partition p{tp};
      if (ends && ends->contains(tp)) p.end_offset = ends->at(tp);
      if (starts && starts->contains(tp)) p.log_start = starts->at(tp);
      parts.push_back(std::move(p));
    }
    auto t = co_await async_call_on_pool(store_pool, io, [this, &parts] { return sum_group_totals(store, paths, parts); });
    if (!t) {
      log::warn("backup worker {}: could not read the group's checkpoints: {}", leader, t.error().message);
      co_return;
    }
    log::info("{}", group_totals_line(member_cfg.group_id, generation, leader, *t));
  }

  /// Every group_report_interval while an engine runs: this worker's progress; the leader adds
  /// the group's totals.
  asio::awaitable<void> async_report_progress() {
    if (!job || std::chrono::steady_clock::now() - last_report < group_report_interval) co_return;
    last_report = std::chrono::steady_clock::now();
    std::optional<stats> s;
    {
      std::lock_guard lock(progress_mutex);
      s = latest_progress;
    }
    if (s) {
      log::info("backup worker {}: generation {}: {} partition(s), {} records, {} bytes raw stored, {} segments, {} "
                "bytes fetched{}",
                job_member, job_generation, job_partitions.size(), s->records, s->bytes_raw, s->segments,
                s->bytes_fetched, s->lag >= 0 ? fmt::format(", lag {} offsets", s->lag) : std::string());
    }
    if (job_leader) co_await async_report_group();
  }

  /// Joins the finished engine and adds its totals; false when it failed (or there was none).
  bool collect_job() {
    if (job_thread.joinable()) job_thread.join();
    job.reset();
    {
      std::lock_guard lock(progress_mutex);
      latest_progress.reset();
    }
    if (!job_result) return false;
    auto r = std::move(*job_result);
    job_result.reset();
    if (!r) {
      log::warn("backup worker {}: generation {} failed: {}", job_member, job_generation, r.error().message);
      if (!first_error) first_error = std::move(r.error());
      leave_after_collect = true;
      return false;
    }
    add_stats(totals, *r);
    totals.topics = std::max(totals.topics, r->topics);
    totals.partitions_complete = r->partitions_complete;
    totals.gaps = std::max(totals.gaps, r->gaps);
    log::info("backup worker {}: generation {} {}: {} partition(s) ({} complete), {} records, {} segments; this "
              "worker so far: {} records, {} bytes raw, {} segments",
              job_member, job_generation, r->interrupted ? "stopped" : "complete", r->partitions, r->partitions_complete,
              r->records, r->segments, totals.records, totals.bytes_raw, totals.segments);
    if (!r->interrupted && opts.mode != run_mode::continuous && !leaving) {
      log::info("backup worker {}: the partitions of generation {} reached their end offsets; leaving the group",
                job_member, job_generation);
      leave_after_collect = true;
    }
    return true;
  }

  void leave() {
    if (leaving) return;
    leaving = true;
    if (driver) driver->leave();
  }

  asio::awaitable<void> async_on_revoked(wk::revoked_event ev) {
    revoking = true;
    if (ev.lost) job_lost = true;
    log::info("backup worker {}: {} {} partition(s){}; sealing and committing", job_member, ev.lost ? "lost" : "revoked",
              ev.partitions.size(), ev.lost ? " (the session expired: another worker may own them already)" : "");
    co_await async_stop_job();
    if (!leaving) {
      auto w = co_await async_work();
      if (w) driver->set_work(std::move(*w));
      else log::warn("backup worker: could not list the partitions for the next assignment: {}", w.error().message);
    }
    revoking = false;
  }

  /// Watches the stop request and the engine's end.
  asio::awaitable<void> async_monitor() {
    while (!driver_done) {
      if (!revoking) {
        if (stop_requested.load() && !leaving) {
          log::info("backup worker: stop requested; sealing, committing and leaving the group");
          totals.interrupted = true;
          co_await async_stop_job();
          leave();
        } else if (job && job_finished.load()) {
          co_await async_collect_job();
        } else {
          co_await async_report_progress();
        }
      }
      co_await wake.wait(100ms);
    }
  }

  asio::awaitable<result<void>> async_main() {
    auto cluster_opts = opts.cluster;
    cluster_opts.max_attempts = std::min(cluster_opts.max_attempts, 3);
    cluster = net::cluster::create(io.get_executor(), cluster_opts);
    if (auto r = co_await cluster->async_bootstrap(); !r) co_return r;
    admin = std::make_unique<kafka_admin>(*cluster,
                                          admin_retry{opts.cluster.max_attempts, opts.cluster.retry_backoff, 5s, true},
                                          principal_hint(opts.cluster.connection));
    auto work = co_await async_work();
    if (!work) co_return fail(std::move(work.error()));
    wk::member_hooks hooks;
    hooks.on_assigned = [this](const wk::assigned_event& ev) {
      if (!leaving && !stop_requested.load()) start_job(ev);
    };
    hooks.on_revoked = [this](wk::revoked_event ev) { return async_on_revoked(std::move(ev)); };
    driver = std::make_unique<wk::member_driver>(io.get_executor(), *cluster, member_cfg, std::move(hooks));
    driver->set_work(std::move(*work));
    log::info("backup '{}': worker of group '{}' (protocol type {}), mode {}", opts.backup_id, member_cfg.group_id,
              wk::protocol_type, to_string(opts.mode));
    asio::co_spawn(io, async_monitor(), asio::detached);
    auto r = co_await driver->async_run();
    driver_done = true;
    wake.notify();
    // A fatal group error while the engine runs: stop it the graceful way first.
    co_await async_stop_job();
    if (!r) co_return r;
    co_return result<void>{};
  }

  result<stats> run(progress_callback cb) {
    on_progress = std::move(cb);
    std::optional<result<void>> outcome;
    asio::co_spawn(io, async_main(), [&](const std::exception_ptr& e, result<void> r) {
      outcome = e ? result<void>(fail(error_from_exception(e, "the backup worker"))) : std::move(r);
      if (cluster) cluster->close();
    });
    while (!outcome) io.run_one();
    io.restart();
    io.poll();
    if (job_thread.joinable()) {
      if (job) job->request_stop();
      job_thread.join();
    }
    totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!*outcome) return fail(std::move(outcome->error()));
    if (first_error) return fail(*first_error);
    return totals;
  }
};

worker_backup::worker_backup(options job_opts, wk::member_config member, storage::object_store& store)
    : impl_(std::make_unique<impl>(std::move(job_opts), std::move(member), store)) {}
worker_backup::~worker_backup() = default;

result<stats> worker_backup::run(progress_callback on_progress) { return impl_->run(std::move(on_progress)); }

void worker_backup::request_stop() noexcept {
  impl_->stop_requested = true;  // the monitor polls it at least every 100 ms
}

}  // namespace kb::pipeline::backup
