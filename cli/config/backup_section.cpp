// `backup:`: codec, segment sizes, start offsets, memory budget; checks and rendering.
#include <limits>

#include "cli/config/json_util.hpp"
#include "cli/config/sections.hpp"
#include "pipeline/backup/fetch_budget.hpp"

namespace kb::cli::config_detail {
namespace {

namespace json = boost::json;


void read_specific_offsets(reader& r, const YAML::Node& node, const std::string& path,
                           backup_config& b) {
  r.each_entry(node, path, [&](const YAML::Node&, const YAML::Node& partitions,
                               const std::string& topic_path) {
    const std::string topic(last_segment(topic_path));
    auto& per_partition = b.specific_offsets[topic];
    r.each_entry(partitions, topic_path, [&](const YAML::Node& key, const YAML::Node& value,
                                             const std::string& entry_path) {
      const auto partition = r.integer<std::int32_t>(key, entry_path, 0, std::numeric_limits<std::int32_t>::max());
      const auto offset = r.integer<std::int64_t>(value, entry_path, 0, std::numeric_limits<std::int64_t>::max());
      if (partition && offset) per_partition[*partition] = *offset;
    });
  });
}

}  // namespace

void read_backup(reader& r, const YAML::Node& node, const std::string& path, backup_config& b) {
  constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
  r.read_map(node, path, {
      {"compression", [&](const YAML::Node& v, const std::string& p) { assign(b.compression, r.enumeration(v, p, k_codecs)); }},
      {"compression_level", [&](const YAML::Node& v, const std::string& p) {
         assign(b.compression_level, r.integer<int>(v, p, -1000, 1000));  // range per codec below
       }},
      {"segment_max_bytes", [&](const YAML::Node& v, const std::string& p) {
         assign(b.segment_max_bytes, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"segment_max_interval_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(b.segment_max_interval_ms, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"segment_max_records", [&](const YAML::Node& v, const std::string& p) {
         assign(b.segment_max_records, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"fetch_max_bytes", [&](const YAML::Node& v, const std::string& p) {
         assign(b.fetch_max_bytes, r.integer<std::uint32_t>(v, p, 1, 2147483647u));
       }},
      {"continuous", [&](const YAML::Node& v, const std::string& p) { assign(b.continuous, r.boolean(v, p)); }},
      {"poll_interval_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(b.poll_interval_ms, r.integer<std::uint64_t>(v, p, 0, u64max));
       }},
      {"stop_at_current_offsets", [&](const YAML::Node& v, const std::string& p) {
         assign(b.stop_at_current_offsets, r.boolean(v, p));
       }},
      {"start_offset", [&](const YAML::Node& v, const std::string& p) {
         if (v.IsMap()) {
           r.read_map(v, p, {{"specific", [&](const YAML::Node& sv, const std::string& sp) {
                                 b.start_offset = start_offset_policy::specific;
                                 read_specific_offsets(r, sv, sp, b);
                               }}});
           return;
         }
         assign(b.start_offset, r.enumeration(v, p, k_start_offsets));
       }},
      {"max_concurrent_partitions", [&](const YAML::Node& v, const std::string& p) {
         assign(b.max_concurrent_partitions, r.integer<std::uint32_t>(v, p, 1, 100000));
       }},
      {"include_internal_topics", [&](const YAML::Node& v, const std::string& p) {
         assign(b.include_internal_topics, r.boolean(v, p));
       }},
      {"internal_topics", [&](const YAML::Node& v, const std::string& p) { assign(b.internal_topics, r.string_list(v, p)); }},
      {"include_offset_headers", [&](const YAML::Node& v, const std::string& p) {
         assign(b.include_offset_headers, r.boolean(v, p));
         if (b.include_offset_headers) {
           r.warn(v.Mark(), p,
                  "ignored: kafka-backup never adds headers to your records; source offsets are "
                  "kept in the segment index and consumer-group offsets are translated exactly");
         }
       }},
      {"source_cluster_id", [&](const YAML::Node& v, const std::string& p) { assign(b.source_cluster_id, r.string(v, p)); }},
      {"consumer_group_snapshot", [&](const YAML::Node& v, const std::string& p) {
         assign(b.consumer_group_snapshot, r.boolean(v, p));
       }},
      {"max_buffer_bytes", [&](const YAML::Node& v, const std::string& p) {
         assign(b.max_buffer_bytes, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"checkpoint_interval_secs", [&](const YAML::Node& v, const std::string& p) {
         (void)r.integer<std::uint64_t>(v, p, 0, u64max);
         r.warn(v.Mark(), p, "has no effect: a checkpoint is written after every durable segment");
       }},
      {"sync_interval_secs", [&](const YAML::Node& v, const std::string& p) {
         (void)r.integer<std::uint64_t>(v, p, 0, u64max);
         r.warn(v.Mark(), p, "has no effect: a checkpoint is written after every durable segment");
       }},
  });
}

void validate_backup(reader& r, job_kind mode, const backup_config& b) {
  if (b.continuous && b.stop_at_current_offsets) {
    r.error_at("backup.stop_at_current_offsets",
               "cannot be combined with continuous: true (a snapshot stops, a continuous backup "
               "does not); set one of them to false");
  }
  if (mode == job_kind::backup) {
    // A budget one fetch does not fit in would wait forever for memory nothing frees.
    const auto fetch = pipeline::backup::effective_fetch_max_bytes(b.fetch_max_bytes, b.segment_max_bytes);
    const auto floor = pipeline::backup::min_buffer_bytes(fetch);
    if (b.max_buffer_bytes < floor) {
      r.error_at("backup.max_buffer_bytes",
                 fmt::format("{} is below the minimum of {} bytes: one fetch (min(fetch_max_bytes, 1 MiB) = {} "
                             "bytes) must fit in the memory budget; set max_buffer_bytes to at least {}",
                             b.max_buffer_bytes, floor, floor, floor));
    }
  }
  if (r.seen("backup.compression_level")) {
    switch (b.compression) {
      case frame_codec::zstd:
        if (b.compression_level < 1 || b.compression_level > 22) {
          r.error_at("backup.compression_level",
                     fmt::format("must be between 1 and 22 for zstd, not {}", b.compression_level));
        }
        break;
      case frame_codec::lz4:
        if (b.compression_level < 1 || b.compression_level > 12) {
          r.error_at("backup.compression_level",
                     fmt::format("must be between 1 and 12 for lz4, not {}", b.compression_level));
        }
        break;
      case frame_codec::none:
        r.warn_at("backup.compression_level", "ignored with compression: none");
        break;
    }
  }
}

json::object backup_json(const backup_config& b) {
  json::object out;
  out["compression"] = to_string(b.compression);
  out["compression_level"] = b.compression_level;
  out["segment_max_bytes"] = b.segment_max_bytes;
  out["segment_max_interval_ms"] = b.segment_max_interval_ms;
  out["segment_max_records"] = optional_json(b.segment_max_records);
  out["fetch_max_bytes"] = optional_json(b.fetch_max_bytes);
  out["continuous"] = b.continuous;
  out["poll_interval_ms"] = b.poll_interval_ms;
  out["stop_at_current_offsets"] = b.stop_at_current_offsets;
  if (b.start_offset == start_offset_policy::specific) {
    json::object topics;
    for (const auto& [topic, partitions] : b.specific_offsets) {
      json::object per;
      for (const auto& [partition, offset] : partitions) per[std::to_string(partition)] = offset;
      topics[topic] = std::move(per);
    }
    json::object specific;
    specific["specific"] = std::move(topics);
    out["start_offset"] = std::move(specific);
  } else {
    out["start_offset"] = to_string(b.start_offset);
  }
  out["max_concurrent_partitions"] = b.max_concurrent_partitions;
  out["include_internal_topics"] = b.include_internal_topics;
  out["internal_topics"] = strings_json(b.internal_topics);
  out["include_offset_headers"] = b.include_offset_headers;
  out["source_cluster_id"] = optional_json(b.source_cluster_id);
  out["consumer_group_snapshot"] = b.consumer_group_snapshot;
  out["max_buffer_bytes"] = b.max_buffer_bytes;
  return out;
}

}  // namespace kb::cli::config_detail
