// `restore:`: time window, topic/partition mapping, repartitioning, consumer groups, produce
// settings, local state files; checks and rendering.
#include <algorithm>
#include <array>
#include <limits>

#include "cli/config/json_util.hpp"
#include "cli/config/sections.hpp"
#include "protocol/topic_name.hpp"

namespace kb::cli::config_detail {

namespace json = boost::json;

namespace {

constexpr auto i32max = std::numeric_limits<std::int32_t>::max();
constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();

/// Epoch milliseconds or RFC 3339.
handler time_field(reader& r, std::optional<std::int64_t>& target) {
  return [&r, &target](const YAML::Node& v, const std::string& p) {
    const auto text = r.string(v, p);
    if (!text) return;
    if (auto ms = parse_timestamp_ms(*text)) {
      target = *ms;
    } else {
      r.error(v.Mark(), p,
              fmt::format("{} is neither epoch milliseconds nor an RFC 3339 time "
                          "(e.g. 1736899200000 or 2025-01-15T00:00:00Z)",
                          r.describe(v, p)));
    }
  };
}

void read_topic_mapping(reader& r, const YAML::Node& v, const std::string& p, restore_config& o) {
  r.each_entry(v, p, [&](const YAML::Node& key, const YAML::Node& value, const std::string& ep) {
    if (auto target = r.string(value, ep)) {
      if (target->empty()) {
        r.error(value.Mark(), ep, "empty target topic name");
      } else if (auto why = protocol::topic_name_problem(*target)) {
        // Caught here, not as INVALID_TOPIC_EXCEPTION from the broker halfway through a run.
        r.error(value.Mark(), ep,
                fmt::format("'{}' is not a valid Kafka topic name: {}", target->substr(0, 260), *why));
      } else {
        o.topic_mapping[key.Scalar()] = *target;
      }
    }
  });
}

void read_partition_mapping(reader& r, const YAML::Node& v, const std::string& p,
                            restore_config& o) {
  r.each_entry(v, p, [&](const YAML::Node& key, const YAML::Node& value, const std::string& ep) {
    const auto from = r.integer<std::int32_t>(key, ep, 0, i32max);
    const auto to = r.integer<std::int32_t>(value, ep, 0, i32max);
    if (from && to) o.partition_mapping[*from] = *to;
  });
}

void read_repartitioning(reader& r, const YAML::Node& v, const std::string& p, restore_config& o) {
  r.each_entry(v, p, [&](const YAML::Node& key, const YAML::Node& value, const std::string& ep) {
    repartition_rule rule;
    bool has_partitions = false;
    r.read_map(value, ep, {
        {"strategy", [&](const YAML::Node& sv, const std::string& sp) {
           assign(rule.strategy, r.enumeration(sv, sp, k_strategies));
         }},
        {"target_partitions", [&](const YAML::Node& tv, const std::string& tp) {
           if (auto n = r.integer<std::int32_t>(tv, tp, 1, i32max)) {
             rule.target_partitions = *n;
             has_partitions = true;
           }
         }},
    });
    if (!has_partitions && !r.seen(ep + ".target_partitions")) {
      r.error(key.Mark(), ep, "target_partitions is required (a positive partition count)");
    }
    o.repartitioning[key.Scalar()] = rule;
  });
}

void read_replication_factor(reader& r, const YAML::Node& v, const std::string& p,
                             restore_config& o) {
  if (auto n = r.integer<std::int16_t>(v, p, -1, std::numeric_limits<std::int16_t>::max())) {
    if (*n == 0) {
      r.error(v.Mark(), p, "must be a positive replica count, or -1 for the broker default");
    } else if (*n > 0) {
      o.default_replication_factor = *n;
    }
  }
}

void read_produce_acks(reader& r, const YAML::Node& v, const std::string& p, restore_config& o) {
  if (v.IsScalar() && lower(v.Scalar()) == "all") {
    o.produce_acks = -1;
    return;
  }
  const auto acks = r.integer<std::int16_t>(v, p, -1, 1);
  if (!acks) return;
  if (*acks == 0) {
    r.error(v.Mark(), p,
            "0 is not supported: the restore needs every produce response (base offsets) to "
            "translate consumer-group offsets and to know nothing was lost; use -1 (all) or 1");
    return;
  }
  o.produce_acks = *acks;
}

/// OSO's key: only `skip` matches what kafka-backup does; the others are accepted with a warning.
void read_consumer_group_strategy(reader& r, const YAML::Node& v, const std::string& p) {
  const auto text = r.string(v, p);
  if (!text) return;
  static const std::array<std::string_view, 5> known{"skip", "header-based", "timestamp-based",
                                                     "cluster-scan", "manual"};
  if (std::find(known.begin(), known.end(), *text) == known.end()) {
    r.error(v.Mark(), p, fmt::format("unknown value {}; allowed: skip, header-based, "
                                     "timestamp-based, cluster-scan, manual",
                                     r.describe(v, p)));
    return;
  }
  if (*text != "skip") {
    r.warn(v.Mark(), p,
           "ignored: consumer-group offsets are translated exactly from the produce "
           "responses (set consumer_groups and reset_consumer_offsets); no headers are added");
  }
}

}  // namespace

void read_restore(reader& r, const YAML::Node& node, const std::string& path, restore_config& o) {
  using node_t = YAML::Node;
  using path_t = std::string;
  r.read_map(node, path, {
      {"time_window_start", time_field(r, o.time_window_start)},
      {"time_window_end", time_field(r, o.time_window_end)},
      {"source_partitions", [&](const node_t& v, const path_t& p) {
         assign(o.source_partitions, r.integer_list<std::int32_t>(v, p, 0, i32max));
       }},
      {"topic_mapping", [&](const node_t& v, const path_t& p) { read_topic_mapping(r, v, p, o); }},
      {"partition_mapping", [&](const node_t& v, const path_t& p) { read_partition_mapping(r, v, p, o); }},
      {"repartitioning", [&](const node_t& v, const path_t& p) { read_repartitioning(r, v, p, o); }},
      {"create_topics", flag_field(r, o.create_topics)},
      {"default_replication_factor", [&](const node_t& v, const path_t& p) {
         read_replication_factor(r, v, p, o);
       }},
      {"purge_topics", flag_field(r, o.purge_topics)},
      {"consumer_groups", [&](const node_t& v, const path_t& p) {
         assign(o.consumer_groups, r.string_list(v, p));
       }},
      {"reset_consumer_offsets", flag_field(r, o.reset_consumer_offsets)},
      {"auto_consumer_groups", flag_field(r, o.auto_consumer_groups)},
      {"allow_gaps", flag_field(r, o.allow_gaps)},
      {"dry_run", flag_field(r, o.dry_run)},
      {"produce_acks", [&](const node_t& v, const path_t& p) { read_produce_acks(r, v, p, o); }},
      {"produce_timeout_ms", integer_field<std::uint32_t>(r, o.produce_timeout_ms, 1, 2147483647u)},
      {"produce_batch_size", integer_field<std::uint32_t>(r, o.produce_batch_size, 1, 2147483647u)},
      {"max_concurrent_partitions", integer_field<std::uint32_t>(r, o.max_concurrent_partitions, 1, 100000)},
      {"rate_limit_records_per_sec", integer_field<std::uint64_t>(r, o.rate_limit_records_per_sec, 1, u64max)},
      {"rate_limit_bytes_per_sec", integer_field<std::uint64_t>(r, o.rate_limit_bytes_per_sec, 1, u64max)},
      {"checkpoint_state", optional_string_field(r, o.checkpoint_state)},
      {"offset_report", optional_string_field(r, o.offset_report)},
      {"state_dir", optional_string_field(r, o.state_dir)},
      {"checkpoint_interval_secs", [&](const node_t& v, const path_t& p) {
         (void)r.integer<std::uint64_t>(v, p, 0, u64max);
         r.warn(v.Mark(), p, "has no effect: restore progress is recorded after every acknowledged batch");
       }},
      {"consumer_group_strategy", [&](const node_t& v, const path_t& p) {
         read_consumer_group_strategy(r, v, p);
       }},
      {"include_original_offset_header", [&](const node_t& v, const path_t& p) {
         const auto on = r.boolean(v, p);
         if (on && *on) {
           r.warn(v.Mark(), p, "ignored: kafka-backup never adds headers to restored records");
         }
       }},
  });
}

void validate_restore(reader& r, restore_config& o) {
  if (o.time_window_start && o.time_window_end && *o.time_window_start > *o.time_window_end) {
    r.error_at("restore.time_window_start",
               fmt::format("time_window_start ({}) is after time_window_end ({}); both are "
                           "inclusive epoch milliseconds",
                           *o.time_window_start, *o.time_window_end));
  }
  if (o.reset_consumer_offsets && o.consumer_groups.empty() && !o.auto_consumer_groups) {
    r.error_at("restore.reset_consumer_offsets",
               "needs consumer_groups (the groups whose offsets to translate) or "
               "auto_consumer_groups: true");
  }
  if (!o.consumer_groups.empty() && !o.reset_consumer_offsets && !o.auto_consumer_groups &&
      r.seen("restore.reset_consumer_offsets")) {
    r.warn_at("restore.consumer_groups",
              "listed but reset_consumer_offsets is false: their offsets will not be committed");
  }
  if (o.auto_consumer_groups) o.reset_consumer_offsets = true;
}

json::object restore_json(const restore_config& o) {
  json::object out;
  out["time_window_start"] = optional_json(o.time_window_start);
  out["time_window_end"] = optional_json(o.time_window_end);
  json::array partitions;
  for (auto p : o.source_partitions) partitions.emplace_back(p);
  out["source_partitions"] = std::move(partitions);
  json::object topic_mapping;
  for (const auto& [from, to] : o.topic_mapping) topic_mapping[from] = to;
  out["topic_mapping"] = std::move(topic_mapping);
  json::object partition_mapping;
  for (const auto& [from, to] : o.partition_mapping) partition_mapping[std::to_string(from)] = to;
  out["partition_mapping"] = std::move(partition_mapping);
  json::object repartitioning;
  for (const auto& [topic, rule] : o.repartitioning) {
    json::object r;
    r["strategy"] = to_string(rule.strategy);
    r["target_partitions"] = rule.target_partitions;
    repartitioning[topic] = std::move(r);
  }
  out["repartitioning"] = std::move(repartitioning);
  out["create_topics"] = o.create_topics;
  out["default_replication_factor"] = optional_json(o.default_replication_factor);
  out["purge_topics"] = o.purge_topics;
  out["consumer_groups"] = strings_json(o.consumer_groups);
  out["reset_consumer_offsets"] = o.reset_consumer_offsets;
  out["auto_consumer_groups"] = o.auto_consumer_groups;
  out["allow_gaps"] = o.allow_gaps;
  out["dry_run"] = o.dry_run;
  out["produce_acks"] = o.produce_acks;
  out["produce_timeout_ms"] = o.produce_timeout_ms;
  out["produce_batch_size"] = o.produce_batch_size;
  out["max_concurrent_partitions"] = o.max_concurrent_partitions;
  out["rate_limit_records_per_sec"] = optional_json(o.rate_limit_records_per_sec);
  out["rate_limit_bytes_per_sec"] = optional_json(o.rate_limit_bytes_per_sec);
  out["checkpoint_state"] = optional_json(o.checkpoint_state);
  out["offset_report"] = optional_json(o.offset_report);
  out["state_dir"] = optional_json(o.state_dir);
  return out;
}

}  // namespace kb::cli::config_detail
