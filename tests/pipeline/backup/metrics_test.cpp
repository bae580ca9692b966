#include "pipeline/backup/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::pipeline::backup {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(metrics, counters_and_gauges_in_text_format) {
  metrics_snapshot m;
  m.backup_id = "daily";
  m.records = 1200;
  m.segments = 3;
  m.memory_limit = 1 << 20;
  const auto text = render_metrics(m, 100);
  EXPECT_THAT(text, HasSubstr("# TYPE kafka_backup_records_total counter\n"));
  EXPECT_THAT(text, HasSubstr("kafka_backup_records_total{backup_id=\"daily\"} 1200\n"));
  EXPECT_THAT(text, HasSubstr("kafka_backup_segments_uploaded_total{backup_id=\"daily\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("kafka_backup_buffer_limit_bytes{backup_id=\"daily\"} 1048576\n"));
  EXPECT_THAT(text, Not(HasSubstr("_total_total")));
}

TEST(metrics, partition_labels_are_capped_and_escaped) {
  metrics_snapshot m;
  m.backup_id = "b";
  m.lags = {{"a\"b", 0, 5}, {"t", 1, 7}, {"t", 2, 11}};
  const auto capped = render_metrics(m, 1);
  EXPECT_THAT(capped, HasSubstr("kafka_backup_partition_lag{backup_id=\"b\",topic=\"a\\\"b\",partition=\"0\"} 5\n"));
  EXPECT_THAT(capped, HasSubstr("topic=\"_other\",partition=\"_other\"} 18\n"));
  EXPECT_THAT(capped, Not(HasSubstr("partition=\"1\"")));
  const auto all = render_metrics(m, 0);
  EXPECT_THAT(all, HasSubstr("topic=\"t\",partition=\"2\"} 11\n"));
  EXPECT_THAT(all, Not(HasSubstr("_other")));
}

}  // namespace
}  // namespace kb::pipeline::backup
