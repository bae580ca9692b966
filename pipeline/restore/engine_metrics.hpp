// The restore engine's Prometheus endpoint: the counters a scrape shows, taken from the run, and
// the server that serves them (`metrics:` section).
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "base/error.hpp"
#include "pipeline/metrics_server.hpp"
#include "pipeline/restore/producer.hpp"
#include "pipeline/restore/restore.hpp"

namespace kb::pipeline::restore {

/// The counters of `run` now; `p` is null before the producer exists.
[[nodiscard]] restore_metrics snapshot_metrics(const restore_run& run, const producer* p, const restore_plan& plan);

/// Serves render_metrics(snapshot()) at `m`; /ready says "connecting" until brokers_ok() (both
/// called on `ex`). Logs the address.
[[nodiscard]] kb::result<std::shared_ptr<metrics_server>> open_restore_metrics(
    const boost::asio::any_io_executor& ex, const metrics_endpoint& m, std::function<bool()> brokers_ok,
    std::function<restore_metrics()> snapshot);

}  // namespace kb::pipeline::restore
