// See engine_metrics.hpp.
#include "pipeline/restore/engine_metrics.hpp"

#include "base/log.hpp"

namespace kb::pipeline::restore {

restore_metrics snapshot_metrics(const restore_run& run, const producer* p, const restore_plan& plan) {
  const auto& s = run.summary;
  restore_metrics m;
  m.restore_id = s.restore_id;
  m.records = s.records;
  m.bytes = s.bytes;
  m.batches_passed = s.batches_passed;
  m.batches_reencoded = s.batches_reencoded;
  m.batches_dropped = s.batches_dropped;
  m.batches_merged = s.batches_merged;
  m.produce_retries = p ? p->retries() : 0;
  m.requests_in_flight = p ? p->in_flight() : 0;
  m.partitions_total = plan.partitions.size();
  for (const auto& x : run.state.partitions) m.partitions_done += x.done ? 1 : 0;
  m.planned_bytes = plan.bytes();
  return m;
}

kb::result<std::shared_ptr<metrics_server>> open_restore_metrics(const boost::asio::any_io_executor& ex,
                                                                 const metrics_endpoint& m,
                                                                 std::function<bool()> brokers_ok,
                                                                 std::function<restore_metrics()> snapshot) {
  metrics_server_options mo;
  mo.bind_address = m.bind_address;
  mo.port = m.port;
  mo.path = m.path;
  // The plan was read from the store before the server opened; the brokers are the rest.
  mo.ready = [ok = std::move(brokers_ok)]() -> std::string {
    return ok() ? std::string() : std::string("connecting to the target brokers (metadata not fetched yet)");
  };
  auto server = metrics_server::start(ex, mo, [s = std::move(snapshot)] { return render_metrics(s()); });
  if (!server) return fail(std::move(server.error()));
  kb::log::info("restore: metrics on http://{}:{}{}", m.bind_address, (*server)->port(), m.path);
  return server;
}

}  // namespace kb::pipeline::restore
