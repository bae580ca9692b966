#include "pipeline/backup/metrics.hpp"

#include <fmt/format.h>

namespace kb::pipeline::backup {

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void counter(std::string& out, std::string_view name, std::string_view help, const std::string& id, std::uint64_t v) {
  out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{}{{backup_id=\"{}\"}} {}\n", name, help, name, name, id, v);
}
void gauge(std::string& out, std::string_view name, std::string_view help, const std::string& id, std::uint64_t v) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{}{{backup_id=\"{}\"}} {}\n", name, help, name, name, id, v);
}

}  // namespace

std::string render_metrics(const metrics_snapshot& m, std::uint32_t max_partition_labels) {
  std::string out;
  const std::string id = escape_label(m.backup_id);
  counter(out, "kafka_backup_records_total", "Records stored in durable segments (control records excluded).", id,
          m.records);
  counter(out, "kafka_backup_batches_total", "Record batches stored in durable segments.", id, m.batches);
  counter(out, "kafka_backup_fetched_bytes_total", "Record batch bytes fetched from the brokers.", id, m.bytes_fetched);
  counter(out, "kafka_backup_raw_bytes_total", "Record batch bytes stored (before frame compression).", id, m.bytes_raw);
  counter(out, "kafka_backup_stored_bytes_total", "Segment bytes uploaded.", id, m.bytes_stored);
  counter(out, "kafka_backup_segments_uploaded_total", "Segments made durable and checkpointed.", id, m.segments);
  counter(out, "kafka_backup_offset_gaps_total", "Retention gaps recorded (OFFSET_OUT_OF_RANGE).", id, m.gaps);
  counter(out, "kafka_backup_errors_total", "Errors that stopped the backup or were retried.", id, m.errors);
  gauge(out, "kafka_backup_buffer_bytes", "Bytes held against the memory budget.", id, m.memory_used);
  gauge(out, "kafka_backup_buffer_limit_bytes", "The memory budget (backup.max_buffer_bytes).", id, m.memory_limit);
  out += "# HELP kafka_backup_partition_lag Offsets left to the end offset (or high watermark) per partition.\n"
         "# TYPE kafka_backup_partition_lag gauge\n";
  std::int64_t rest = 0;
  std::size_t shown = 0;
  for (const auto& l : m.lags) {
    if (max_partition_labels != 0 && shown >= max_partition_labels) {
      rest += l.lag;
      continue;
    }
    ++shown;
    out += fmt::format("kafka_backup_partition_lag{{backup_id=\"{}\",topic=\"{}\",partition=\"{}\"}} {}\n", id,
                       escape_label(l.topic), l.partition, l.lag);
  }
  if (shown < m.lags.size())
    out += fmt::format("kafka_backup_partition_lag{{backup_id=\"{}\",topic=\"_other\",partition=\"_other\"}} {}\n", id,
                       rest);
  return out;
}

}  // namespace kb::pipeline::backup
