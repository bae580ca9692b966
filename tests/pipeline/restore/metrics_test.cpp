// The restore's Prometheus text: names, types, the restore_id label and the values given.
#include "pipeline/restore/restore.hpp"

#include <gtest/gtest.h>

namespace kb::pipeline::restore {
namespace {

TEST(restore_metrics, text_format_names_types_and_values) {
  restore_metrics m;
  m.restore_id = "r-00ff";
  m.records = 12345;
  m.bytes = 987654321;
  m.batches_dropped = 7;
  m.batches_merged = 11;
  m.partitions_total = 4;
  m.partitions_done = 3;
  const std::string text = render_metrics(m);
  EXPECT_NE(text.find("# TYPE kafka_backup_restore_records_total counter\n"
                      "kafka_backup_restore_records_total{restore_id=\"r-00ff\"} 12345\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("kafka_backup_restore_bytes_total{restore_id=\"r-00ff\"} 987654321\n"), std::string::npos);
  EXPECT_NE(text.find("kafka_backup_restore_batches_dropped_total{restore_id=\"r-00ff\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE kafka_backup_restore_batches_merged_total counter\n"
                      "kafka_backup_restore_batches_merged_total{restore_id=\"r-00ff\"} 11\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE kafka_backup_restore_partitions_done gauge\n"
                      "kafka_backup_restore_partitions_done{restore_id=\"r-00ff\"} 3\n"),
            std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace kb::pipeline::restore
