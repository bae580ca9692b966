#include "pipeline/backup/backup_job.hpp"

#include <algorithm>
#include <map>
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
#include <fmt/ranges.h>

#include "base/log.hpp"
#include "pipeline/backup/fetch_budget.hpp"
#include "pipeline/backup/activation.hpp"
#include "pipeline/backup/catalog.hpp"
#include "pipeline/backup/fetcher.hpp"
#include "pipeline/backup/group_snapshot.hpp"
#include "pipeline/backup/job_status.hpp"
#include "pipeline/backup/lease.hpp"
#include "pipeline/backup/partition_state.hpp"
#include "pipeline/backup/progress.hpp"
#include "pipeline/backup/resume.hpp"
#include "pipeline/backup/segment_uploader.hpp"
#include "pipeline/backup/set_open.hpp"
#include "pipeline/backup/stop_signals.hpp"
#include "pipeline/backup/worker_marks.hpp"
#include "pipeline/exception_error.hpp"
#include "pipeline/kafka_admin.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/metrics_server.hpp"
#include "pipeline/pool_call.hpp"
#include "pipeline/worker_pool.hpp"
#include "protocol/describe_configs.hpp"
#include "storage/format/manifest.hpp"
#include "storage/object_store.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines; the pairing is Asio's and
// correct, so the false positive is silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::backup {

namespace asio = boost::asio;
namespace sf = storage::format;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct backup_job::impl {
  impl(options o, storage::object_store& s)
      : opts(std::move(o)),
        store(s),
        paths{opts.backup_id},
        budget(opts.max_buffer_bytes),
        wake(io),
        lease(s, paths, opts.backup_id, opts.lease_ttl_ms),
        cat(s, paths, opts, principal_hint()),
        activator(s, paths, opts, parts) {}

  options opts;
  storage::object_store& store;
  sf::backup_paths paths;
  asio::io_context io;
  memory_budget budget;
  std::shared_ptr<net::cluster> cluster;
  std::unique_ptr<kafka_admin> admin;
  asio::steady_timer wake;
  std::atomic<bool> stop_requested{false};
  job_status status;  ///< the first error, the error count, stopping
  partition_map parts;
  int background_in_flight = 0;  ///< lease renewals and other store calls on the pool
  // /ready: set on the io thread once the brokers answered metadata and the store took the lease;
  // store_ok drops while lease renewals fail.
  bool brokers_ok = false;
  bool store_ok = false;
  steady::time_point last_refresh = steady::now();
  steady::time_point last_discovery = steady::now();
  steady::time_point last_marker = steady::now();  ///< worker mode: workers.json renewed
  lease_keeper lease;
  catalog cat;  ///< the followed topics, backup.json, topic.json
  partition_activator activator;
  stats totals;
  steady::time_point started = steady::now();
  steady::time_point last_progress = steady::now();
  progress_callback on_progress;
  std::shared_ptr<metrics_server> metrics;
  std::unique_ptr<group_snapshotter> group_reader;
  // Last: its pools go first when the job is destroyed (they refer to the state above).
  std::unique_ptr<segment_uploader> uploader;
  std::unique_ptr<fetcher> fetch;

  // ---- small helpers ------------------------------------------------------------------------

  void poke() { wake.cancel(); }

  void set_error(error e) {
    status.record(std::move(e), steady::now());
    poke();
  }

  // ---- startup ------------------------------------------------------------------------------

  /// take_lease() on the upload pool: while the store retries, the io thread keeps serving
  /// /health and /ready (and the signal that ends the wait).
  asio::awaitable<result<void>> async_take_lease() {
    co_return co_await async_call_on_pool(uploader->store_pool(), io, [this] { return lease.take(now_ms()); });
  }

  std::string principal_hint() const { return kb::pipeline::principal_hint(opts.cluster.connection); }

  /// The partition reached its end: close its segment; a partition with nothing stored gets
  /// a checkpoint anyway, so the backup shows it (empty) and a later run knows where to go on.
  void finish_partition(partition_state& ps) {
    uploader->close(ps);
    ps.phase = part_phase::done;
    if (!ps.has_checkpoint && ps.closing.empty() && !ps.uploading) {
      ps.has_checkpoint = true;
      ps.checkpoint.next_offset = ps.next_offset;
      ps.checkpoint.updated_ms = now_ms();
      submit_store_call(paths.checkpoint(ps.tp.topic, ps.tp.partition), sf::to_json(ps.checkpoint));
    }
  }

  void submit_store_call(std::string key, std::string body) {
    ++background_in_flight;
    call_on_pool(
        uploader->store_pool(), io, [this, key = std::move(key), body = std::move(body)] {
          return store.put(key, as_bytes(body));
        },
        [this](result<void> r) {
          --background_in_flight;
          if (!r) set_error(std::move(r.error()));
          poke();
        });
  }

  // ---- consumer groups ----------------------------------------------------------------------

  asio::awaitable<void> async_group_snapshot() {
    if (!group_reader) {
      group_snapshotter::options go;
      go.principal = principal_hint();
      go.bootstrap = opts.cluster.bootstrap_servers.empty() ? std::string() : opts.cluster.bootstrap_servers.front();
      go.retry_backoff = opts.cluster.retry_backoff;
      group_reader = std::make_unique<group_snapshotter>(cluster, go);
    }
    auto cap = co_await group_reader->async_capture(cat.topics(), now_ms());
    if (auto r = cat.save_groups(cap, now_ms()); !r) set_error(std::move(r.error()));
  }

  // ---- metrics endpoint -------------------------------------------------------------------

  result<void> open_metrics() {
    const auto& m = *opts.metrics;
    metrics_server_options mo;
    mo.bind_address = m.bind_address;
    mo.port = m.port;
    mo.path = m.path;
    mo.ready = [this]() -> std::string {
      if (!brokers_ok) return "connecting to the brokers (metadata not fetched yet)";
      if (!store_ok) return "the store is not reachable yet (lease not taken or store calls failing)";
      return {};
    };
    auto server = metrics_server::start(io.get_executor(), mo, [this] {
      return render_metrics(snapshot_metrics(opts.backup_id, totals, status.errors(), budget, parts),
                            opts.metrics->max_partition_labels);
    });
    if (!server) return fail(std::move(server.error()));
    metrics = std::move(*server);
    log::info("backup: metrics on http://{}:{}{}", m.bind_address, metrics->port(), m.path);
    return {};
  }

  // ---- the main loop ------------------------------------------------------------------------

  in_flight_counts in_flight() const {
    return {fetch->in_flight(), uploader->in_flight(), background_in_flight};
  }

  void report_progress() {
    if (!on_progress) return;
    totals.seconds = std::chrono::duration<double>(steady::now() - started).count();
    totals.lag = total_lag(parts);
    on_progress(totals);
  }

  void housekeeping() {
    const auto now = steady::now();
    uploader->close_older_than(now - std::chrono::milliseconds(opts.segment_max_interval_ms));
    if (opts.worker && now - last_marker >= std::chrono::milliseconds(opts.lease_ttl_ms / 3)) {
      last_marker = now;
      submit_store_call(workers_marker_key(paths), to_json(worker_marker(*opts.worker, opts.lease_ttl_ms, now_ms())));
    }
    // Lease renewal on the pool (a store call may block).
    if (lease.renewal_due(now)) {
      lease.renewing(now);
      ++background_in_flight;
      call_on_pool(
          uploader->store_pool(), io, [this, ours = *lease.current()] { return lease.renew(ours, now_ms()); },
          [this](result<sf::lease> r) {
            --background_in_flight;
            store_ok = r.has_value();
            auto lost = r ? std::nullopt : std::optional<error>(r.error());
            if (lease.renewed(std::move(r)) == renewal_outcome::lost) set_error(std::move(*lost));
          });
    }
    if (!status.stopping()) fetch->report_stall(now);
    if (now - last_progress >= opts.progress_interval) {
      last_progress = now;
      report_progress();
    }
  }

  asio::awaitable<result<void>> async_refresh_if_needed(bool discover) {
    const auto now = steady::now();
    if (discover && now - last_discovery >= opts.discovery_interval) {
      last_discovery = now;
      auto r = co_await cluster->async_refresh_metadata();
      if (!r) {
        log::warn("backup: metadata refresh failed: {}", r.error().message);
        co_return result<void>{};
      }
      if (auto s = co_await cat.async_select(*cluster); !s) co_return s;
      const auto before = parts.size();
      add_our_partitions();
      if (parts.size() != before && writes_manifest()) {
        log::info("backup: {} new partition(s) discovered", parts.size() - before);
        for (const auto& name : cat.topics()) {
          bool warned = true;
          if (auto w = co_await cat.async_write_topic(*cluster, name, warned); !w) set_error(std::move(w.error()));
        }
        if (auto w = cat.write(now_ms()); !w) co_return w;
      }
      fetch->metadata_refreshed();
      last_refresh = now;
    }
    if (fetch->metadata_stale() && now - last_refresh >= opts.cluster.retry_backoff) {
      last_refresh = now;
      fetch->metadata_refreshed();
      auto r = co_await cluster->async_refresh_metadata(std::vector<std::string>(cat.topics().begin(), cat.topics().end()));
      if (!r) log::warn("backup: metadata refresh failed: {}", r.error().message);
    }
    co_return result<void>{};
  }

  /// The kafka_admin and the fetcher, once the cluster view exists.
  void make_engines() {
    admin = std::make_unique<kafka_admin>(
        *cluster, admin_retry{opts.cluster.max_attempts, opts.cluster.retry_backoff, 5s, true}, principal_hint());
    fetcher::options fo{opts.mode,
                        opts.fetch_max_bytes,
                        opts.max_in_flight_per_broker,
                        opts.poll_interval_ms,
                        opts.segment_max_bytes,
                        opts.cluster.retry_backoff,
                        opts.cluster.retry_backoff_max,
                        opts.cluster.connection.max_response_bytes,
                        opts.stall_report_after,
                        principal_hint()};
    fetch = std::make_unique<fetcher>(
        io, *cluster, *admin, budget, parts, *uploader, totals, std::move(fo),
        fetcher::hooks{[this](error e) { set_error(std::move(e)); }, [this] { poke(); },
                       [this](partition_state& ps) { finish_partition(ps); }, [this] { status.count_error(); }});
  }

  /// Metadata from the brokers, then the topics to follow.
  asio::awaitable<result<void>> async_connect() {
    // Connection retries stay short inside the cluster view; fetches retry per partition here.
    auto cluster_opts = opts.cluster;
    cluster_opts.max_attempts = std::min(cluster_opts.max_attempts, 3);
    cluster = net::cluster::create(io.get_executor(), cluster_opts);
    if (auto r = co_await cluster->async_bootstrap(); !r) co_return r;
    make_engines();
    if (auto r = co_await cat.async_select(*cluster); !r) co_return r;
    brokers_ok = true;
    co_return result<void>{};
  }

  /// The lease, then what an interrupted writer left, then backup.json and the topic.json files.
  asio::awaitable<result<void>> async_open_set() {
    if (opts.worker) co_return co_await async_open_as_worker();
    if (auto r = co_await async_call_on_pool(uploader->store_pool(), io,
                                             [this] { return refuse_if_workers_run(store, paths, now_ms()); });
        !r)
      co_return r;
    const auto lease_taken = std::chrono::system_clock::now();
    if (auto r = co_await async_take_lease(); !r) co_return r;
    store_ok = true;
    // What a writer killed mid-write left (temp files, unfinished multipart uploads) is ours to
    // remove once we hold the lease.
    remove_leftovers(store, paths, opts.backup_id, lease_taken);
    co_return co_await async_describe_set(cat, *cluster);
  }

  /// Worker mode: no exclusive lease and no removal of leftovers (they may be another worker's
  /// upload in progress); workers.json says workers write the set, owner records say which
  /// worker writes which partition; only the generation's leader writes the manifests.
  asio::awaitable<result<void>> async_open_as_worker() {
    const auto& w = *opts.worker;
    auto r = co_await async_call_on_pool(uploader->store_pool(), io, [this, &w] {
      return claim_as_worker(store, paths, w, opts.lease_ttl_ms, now_ms());
    });
    if (!r) co_return r;
    store_ok = true;
    last_marker = steady::now();
    if (!w.leader) co_return result<void>{};
    co_return co_await async_describe_set(cat, *cluster);
  }

  bool writes_manifest() const { return !opts.worker || opts.worker->leader; }

  /// The followed topics' partitions; a worker takes only those its generation assigned.
  void add_our_partitions() {
    add_partitions(parts, *cluster, cat.topics());
    if (!opts.worker) return;
    std::erase_if(parts, [this](const auto& kv) { return !opts.worker->partitions.contains(kv.first); });
  }

  /// Until every partition is done (or a stop or an error) and nothing is in flight any more.
  asio::awaitable<void> async_loop(std::optional<offset_map>& snapshot_ends) {
    while (true) {
      if (stop_requested.load() && !status.stopping()) {
        log::info("backup: stop requested; sealing and committing what is in flight");
        totals.interrupted = true;
        status.begin_stopping(steady::now());
      }
      if (auto took = status.stop_report_due(steady::now(), 10s)) {
        log::warn("backup: still stopping after {} s: {}", took->count(), drain_blockers(parts, in_flight()));
      }
      if (!status.stopping()) {
        if (auto r = co_await async_refresh_if_needed(opts.mode == run_mode::continuous); !r) set_error(std::move(r.error()));
      }
      if (!status.stopping()) {
        auto at_end = co_await activator.async_activate(*admin, snapshot_ends);
        if (!at_end) set_error(std::move(at_end.error()));
        else
          for (auto* ps : *at_end) finish_partition(*ps);
      }
      if (!status.stopping()) fetch->launch();
      housekeeping();
      if (status.stopping() || all_partitions_done(parts, opts.mode)) {
        if (fetch->in_flight() == 0) {
          for (auto& [tp, ps] : parts) {
            // After an error nothing new is sealed or uploaded; what is in flight finishes.
            if (!status.first_error()) uploader->close(ps);
          }
        }
        if (drained(parts, in_flight(), status.first_error().has_value())) co_return;
      }
      wake.expires_after(std::chrono::milliseconds(status.stopping() ? 20 : 50));
      boost::system::error_code ec;
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<result<void>> async_main() {
    if (opts.metrics) {
      if (auto r = open_metrics(); !r) co_return r;
    }
    if (auto r = co_await async_connect(); !r) co_return r;
    if (auto r = co_await async_open_set(); !r) co_return r;

    add_our_partitions();
    totals.topics = cat.topics().size();
    totals.partitions = parts.size();
    log::info("backup '{}': {} topic(s), {} partition(s), mode {}, to {}", opts.backup_id, cat.topics().size(),
              parts.size(), to_string(opts.mode), store.describe());

    if (opts.consumer_group_snapshot && writes_manifest()) co_await async_group_snapshot();

    std::optional<offset_map> snapshot_ends;
    if (opts.mode == run_mode::snapshot) {
      std::vector<net::topic_partition> all;
      for (const auto& [tp, ps] : parts) all.push_back(tp);
      auto r = co_await admin->async_list_offsets(all, protocol::latest_timestamp);
      if (!r) co_return fail(std::move(r.error()));
      snapshot_ends = std::move(*r);
    }
    co_await async_loop(snapshot_ends);

    for (const auto& [tp, ps] : parts) totals.partitions_complete += ps.phase == part_phase::done ? 1 : 0;
    if (!status.first_error() && opts.consumer_group_snapshot && writes_manifest()) co_await async_group_snapshot();
    if (!status.first_error() && writes_manifest()) {
      if (auto r = cat.write(now_ms()); !r) co_return r;
    }
    report_progress();
    if (status.first_error()) co_return fail(*status.first_error());
    co_return result<void>{};
  }

  result<stats> run(progress_callback cb) {
    if (opts.max_buffer_bytes < min_buffer_bytes(opts.fetch_max_bytes)) {
      // It would wait forever for memory that nothing in flight frees (issue #11 item 10).
      return fail(errc::config, fmt::format("backup.max_buffer_bytes {} is below the minimum of {} bytes (one fetch "
                                            "must fit in the memory budget); raise it",
                                            opts.max_buffer_bytes, min_buffer_bytes(opts.fetch_max_bytes)));
    }
    on_progress = std::move(cb);
    started = steady::now();
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    share_one_allocator_arena();
    segment_uploader::options uo{opts.codec, opts.compression_level,
                                 opts.compression_threads ? opts.compression_threads : cores, opts.upload_threads,
                                 opts.worker.has_value()};
    uploader = std::make_unique<segment_uploader>(
        io, store, paths, budget, parts, totals, uo,
        segment_uploader::hooks{[this](error e) { set_error(std::move(e)); }, [this] { return status.first_error().has_value(); },
                                [this] { poke(); }});

    std::optional<stop_signals> signals;
    if (opts.handle_signals) {
      signals.emplace(io, [this](int) {
        stop_requested = true;
        poke();
      });
    }

    std::optional<result<void>> outcome;
    asio::co_spawn(io, async_main(), [&](const std::exception_ptr& e, result<void> r) {
      outcome = e ? result<void>(fail(error_from_exception(e, "the backup"))) : std::move(r);
      if (signals) signals->cancel();
      if (cluster) cluster->close();
      if (metrics) metrics->stop();  // closes idle scrapers' sessions too
    });
    // The io thread drives everything; pools post their completions back here.
    while (!outcome) {
      io.run_one();
    }
    if (signals) signals->cancel();
    if (cluster) cluster->close();
    // Let pending pool completions run before the pools go away.
    uploader->shutdown();
    io.restart();
    io.poll();

    lease.release();
    totals.seconds = std::chrono::duration<double>(steady::now() - started).count();
    if (!*outcome) return fail(std::move(outcome->error()));
    return totals;
  }
};

backup_job::backup_job(options opts, storage::object_store& store)
    : impl_(std::make_unique<impl>(std::move(opts), store)) {}
backup_job::~backup_job() = default;

result<stats> backup_job::run(progress_callback on_progress) { return impl_->run(std::move(on_progress)); }

void backup_job::request_stop() noexcept {
  impl_->stop_requested = true;
  // The main loop polls the flag at least every 50 ms; no need to touch the io thread here.
}

}  // namespace kb::pipeline::backup
