// `kafka-backup restore`: maps the config (target, storage, restore options) onto a restore job,
// runs it (or only plans it with --dry-run), and prints the summary.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ostream>

#include <unistd.h>

#include <fmt/format.h>

#include "cli/command_support.hpp"
#include "pipeline/restore/restore.hpp"
#include "storage/location.hpp"
#include "storage/object_store.hpp"

namespace kb::cli {

namespace {

std::atomic<bool> restore_stop{false};

extern "C" void on_restore_signal(int) { restore_stop.store(true); }

kb::result<net::cluster_options> target_options(const kafka_config& k) {
  net::cluster_options o;
  o.bootstrap_servers = k.bootstrap_servers;
  o.connection.client_id = k.client_id;
  const auto& s = k.security;
  switch (s.protocol) {
    case security_protocol::plaintext: o.connection.protocol = net::security_protocol::plaintext; break;
    case security_protocol::ssl: o.connection.protocol = net::security_protocol::ssl; break;
    case security_protocol::sasl_plaintext: o.connection.protocol = net::security_protocol::sasl_plaintext; break;
    case security_protocol::sasl_ssl: o.connection.protocol = net::security_protocol::sasl_ssl; break;
  }
  if (s.uses_sasl()) {
    switch (s.mechanism) {
      case sasl_mechanism::plain: o.connection.sasl.mechanism = "PLAIN"; break;
      case sasl_mechanism::scram_sha_256: o.connection.sasl.mechanism = "SCRAM-SHA-256"; break;
      case sasl_mechanism::scram_sha_512: o.connection.sasl.mechanism = "SCRAM-SHA-512"; break;
      case sasl_mechanism::gssapi:
        return fail(errc::unsupported, "target.security.sasl_mechanism: GSSAPI is not built into this binary "
                                       "(build with -Dgssapi=enabled)");
      case sasl_mechanism::none:
        return fail(errc::config, "target.security.sasl_mechanism is required with a SASL security_protocol");
    }
    o.connection.sasl.username = s.sasl_username;
    o.connection.sasl.password = net::secret(s.sasl_password.reveal());
  }
  if (s.uses_tls()) {
    o.connection.tls.ca_location = s.ssl_ca_location;
    o.connection.tls.certificate_location = s.ssl_certificate_location;
    o.connection.tls.key_location = s.ssl_key_location;
    if (!s.ssl_key_password.empty()) o.connection.tls.key_password = net::secret(s.ssl_key_password.reveal());
    o.connection.tls.endpoint_identification = s.ssl_endpoint_identification;
    if (!s.ssl_endpoint_identification) {
      kb::log::warn("target.security.ssl_endpoint_identification is false: broker host names are not verified");
    }
  }
  return o;
}

kb::result<std::unique_ptr<storage::object_store>> open_backup_store(const storage_config& sc) {
  storage::location where;
  storage::store_settings settings;
  switch (sc.backend) {
    case storage_backend::filesystem:
      where.kind = storage::backend_kind::filesystem;
      where.path = sc.path;
      break;
    case storage_backend::s3:
      where.kind = storage::backend_kind::s3;
      where.bucket = sc.bucket;
      where.endpoint = sc.endpoint.value_or("");
      where.region = sc.region.value_or("");
      where.path_style = sc.path_style ? std::optional<bool>(true) : std::nullopt;
      settings.access_key = sc.access_key.reveal();
      settings.secret_key = storage::secret_string(sc.secret_key.reveal());
      settings.session_token = storage::secret_string(sc.session_token.reveal());
      break;
    case storage_backend::azure:
    case storage_backend::gcs:
      return fail(errc::unsupported, fmt::format("storage.backend: {} is not supported yet; use filesystem or s3",
                                                 to_string(sc.backend)));
  }
  where.prefix = sc.prefix;
  return storage::open_store(where, settings, storage::process_environment());
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", b, units[u]);
}

}  // namespace

int run_restore(const config& cfg, const parsed_args& args, std::ostream& out, std::ostream& err) {
  if (!cfg.target) {
    print_error(err, fmt::format("{}: the restore needs a 'target:' section (bootstrap_servers, security)", cfg.file));
    return static_cast<int>(kb::exit_code::usage);
  }
  auto target = target_options(*cfg.target);
  if (!target) return report(err, target.error());

  pipeline::restore::restore_options o;
  o.target = std::move(*target);
  auto& p = o.plan;
  p.backup_id = cfg.backup_id;
  p.include = cfg.target->topics.include;
  p.exclude = cfg.target->topics.exclude;
  p.topic_mapping = cfg.restore.topic_mapping;
  p.source_partitions = cfg.restore.source_partitions;
  p.partition_mapping = cfg.restore.partition_mapping;
  for (const auto& [topic, rule] : cfg.restore.repartitioning) {
    pipeline::restore::repartition_rule r;
    r.strategy = rule.strategy == repartition_strategy::murmur2 ? pipeline::restore::repartition_strategy::murmur2
                                                                : pipeline::restore::repartition_strategy::round_robin;
    r.target_partitions = rule.target_partitions;
    p.repartitioning[topic] = r;
  }
  p.window.start = cfg.restore.time_window_start;
  p.window.end = cfg.restore.time_window_end;
  p.consumer_groups = cfg.restore.consumer_groups;
  p.auto_consumer_groups = cfg.restore.auto_consumer_groups;
  o.create_topics = cfg.restore.create_topics;
  o.replication_factor = cfg.restore.default_replication_factor;
  // OSO: auto_consumer_groups implies reset_consumer_offsets.
  o.reset_consumer_offsets = cfg.restore.reset_consumer_offsets || cfg.restore.auto_consumer_groups;
  o.dry_run = args.dry_run || cfg.restore.dry_run;
  o.acks = cfg.restore.produce_acks;
  o.produce_timeout_ms = static_cast<std::int32_t>(cfg.restore.produce_timeout_ms);
  o.max_concurrent_partitions = std::max<std::uint32_t>(cfg.restore.max_concurrent_partitions, 1);
  o.checkpoint_state = cfg.restore.checkpoint_state;
  o.offset_report = cfg.restore.offset_report;
  if (cfg.metrics.enabled) {
    pipeline::restore::metrics_endpoint m;
    m.bind_address = cfg.metrics.bind_address;
    m.port = cfg.metrics.port;
    m.path = cfg.metrics.path;
    o.metrics = m;
  }
  if (cfg.restore.purge_topics) {
    kb::log::warn("restore.purge_topics is not supported by this version and is ignored: nothing is deleted");
  }
  if (cfg.restore.rate_limit_records_per_sec || cfg.restore.rate_limit_bytes_per_sec) {
    kb::log::warn("restore.rate_limit_* is not supported by this version and is ignored");
  }

  const bool progress = !args.global.no_progress && ::isatty(STDERR_FILENO) == 1 && !o.dry_run;
  if (progress) {
    o.on_progress = [&err](std::uint64_t records, std::uint64_t bytes, std::uint64_t total) {
      err << fmt::format("\rrestoring: {} records, {} of ~{}   ", records, human_bytes(static_cast<double>(bytes)),
                         human_bytes(static_cast<double>(total)))
          << std::flush;
    };
  }
  restore_stop.store(false);
  o.stop = &restore_stop;
  auto old_int = std::signal(SIGINT, on_restore_signal);
  auto old_term = std::signal(SIGTERM, on_restore_signal);

  auto store = open_backup_store(cfg.storage);
  if (!store) {
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    return report(err, store.error());
  }
  auto summary = pipeline::restore::run_restore(**store, o);
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
  if (progress) err << "\n";
  if (!summary) return report(err, summary.error());

  const auto& s = *summary;
  for (const auto& w : s.warnings) kb::log::warn("{}", w);
  if (s.dry_run) {
    out << s.plan_text;
    out << "Target checks passed (topics, partition counts, permissions"
        << (o.reset_consumer_offsets ? ", consumer groups idle" : "") << ")\n";
    for (const auto& t : s.created_topics) out << "Would create topic " << t << "\n";
    out << fmt::format("Dry run: nothing was written (restore id would be {})\n", s.restore_id);
    return 0;
  }
  for (const auto& t : s.topics) {
    out << fmt::format("  {} -> {}: {} records, {}\n", t.source, t.target, t.records,
                       human_bytes(static_cast<double>(t.bytes)));
  }
  for (const auto& g : s.groups) {
    out << fmt::format("  group {}: {} partition offsets committed\n", g.group, g.partitions_committed);
    for (const auto& n : g.notes) out << "    " << n << "\n";
  }
  const double mbps = s.seconds > 0 ? static_cast<double>(s.bytes) / 1e6 / s.seconds : 0.0;
  out << fmt::format("Restore {} complete: {} records, {} in {:.1f} s ({:.1f} MB/s); batches passed {}, re-encoded "
                     "{}, dropped {}; {} topics created, {} groups committed{}\n",
                     s.restore_id, s.records, human_bytes(static_cast<double>(s.bytes)), s.seconds, mbps,
                     s.batches_passed, s.batches_reencoded, s.batches_dropped, s.created_topics.size(), s.groups.size(),
                     s.records_skipped_on_resume
                         ? fmt::format("; resumed, {} records found already written", s.records_skipped_on_resume)
                         : std::string());
  return 0;
}

}  // namespace kb::cli
