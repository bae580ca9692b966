// `workers:` — scale-out: the Kafka group N kafka-backup processes share a run through.
#include "cli/config/json_util.hpp"
#include "cli/config/sections.hpp"

namespace kb::cli::config_detail {

namespace json = boost::json;

namespace {

// Kafka takes any non-empty string; these bounds keep ids printable and within what the broker logs.
constexpr std::size_t k_max_id_length = 249;

bool printable(const std::string& s) {
  for (const unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

void read_workers(reader& r, const YAML::Node& node, const std::string& path, workers_config& w) {
  r.read_map(node, path, {
      {"group_id", string_field(r, w.group_id)},
      // The broker's defaults allow 6 s .. 30 min (group.min/max.session.timeout.ms).
      {"session_timeout_ms", integer_field<std::uint32_t>(r, w.session_timeout_ms, 1'000, 3'600'000)},
      {"rebalance_timeout_ms", integer_field<std::uint32_t>(r, w.rebalance_timeout_ms, 1'000, 3'600'000)},
      {"instance_id", optional_string_field(r, w.instance_id)},
  });
}

void validate_workers(reader& r, const workers_config& w, job_kind /*mode*/) {
  if (w.group_id.empty()) {
    r.error_at("workers.group_id",
               "is required when workers: is set: the Kafka group the workers share (e.g. kafka-backup-orders); "
               "remove workers: to run as one process");
  } else if (w.group_id.size() > k_max_id_length || !printable(w.group_id)) {
    r.error_at("workers.group_id", fmt::format("must be 1 to {} printable characters", k_max_id_length));
  }
  if (w.instance_id && (w.instance_id->empty() || w.instance_id->size() > k_max_id_length ||
                        !printable(*w.instance_id))) {
    r.error_at("workers.instance_id",
               fmt::format("must be 1 to {} printable characters, unique per worker (e.g. ${{HOSTNAME}}), "
                           "or absent for dynamic membership",
                           k_max_id_length));
  }
  if (w.rebalance_timeout_ms < w.session_timeout_ms) {
    r.warn_at("workers.rebalance_timeout_ms",
              fmt::format("{} ms is shorter than session_timeout_ms ({} ms): a worker that needs longer than the "
                          "rebalance timeout to seal and commit is dropped from the group",
                          w.rebalance_timeout_ms, w.session_timeout_ms));
  }
}

void validate_restore_workers(reader& r, const restore_config& c) {
  // Another worker resumes a partition from the state in the backup store and the target's end
  // offset: a local state file is seen by one process only, and a repartitioned source partition
  // spreads over target partitions that other sources write too (docs/scale-out.md).
  const auto local = [&](std::string_view key) {
    r.error_at(key, "cannot be used with workers: (each worker must see every partition's state, so it is kept in "
                    "the backup store, which the workers need writable): remove it, or remove workers:");
  };
  if (c.checkpoint_state) local("restore.checkpoint_state");
  if (c.state_dir) local("restore.state_dir");
  if (!c.repartitioning.empty()) {
    r.error_at("restore.repartitioning",
               "cannot be used with workers: (a repartitioned source partition is written into every target "
               "partition, so a new owner could not tell what the last one wrote): remove it, or remove workers:");
  }
}

json::object workers_json(const workers_config& w) {
  json::object out;
  out["group_id"] = w.group_id;
  out["session_timeout_ms"] = w.session_timeout_ms;
  out["rebalance_timeout_ms"] = w.rebalance_timeout_ms;
  out["instance_id"] = w.instance_id ? json::value(*w.instance_id) : json::value(nullptr);
  return out;
}

}  // namespace kb::cli::config_detail
