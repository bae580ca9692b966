// inspect describe: counts from the segment indexes and checkpoints, the JSON fields of DESIGN.md §2
// and the text output.
#include "pipeline/inspect/inspect.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "pipeline/backup/worker_marks.hpp"
#include "tests/pipeline/inspect/inspect_fixture.hpp"

namespace kb::pipeline::inspect {
namespace {

using testing::Inspect;
using testing::big_records;
using testing::small_records;
namespace sf = storage::format;
namespace fs = std::filesystem;
using sf::testing::rebased;
using sf::testing::test_batch;

TEST_F(Inspect, DescribeCountsFromIndexesAndCheckpoints) {
  auto d = describe_backup(store_, "b1");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->manifest.source_cluster_id, "cluster-x");
  ASSERT_EQ(d->topics.size(), 1u);
  ASSERT_EQ(d->topics[0].partitions.size(), 2u);
  const auto& p0 = d->topics[0].partitions[0];
  EXPECT_EQ(p0.first_offset, 0);
  EXPECT_EQ(p0.last_offset, 307);
  EXPECT_EQ(p0.records, small_records + big_records + small_records);
  EXPECT_EQ(p0.segments, 2u);
  EXPECT_EQ(p0.bytes_raw, testdata_size("none_small.bin") + testdata_size("zstd_300.bin") + testdata_size("lz4_small.bin"));
  EXPECT_EQ(p0.bytes_stored, file_size(seg00_) + file_size(seg01_));
  EXPECT_TRUE(p0.gaps.empty());
  EXPECT_EQ(p0.next_offset, 308);
  EXPECT_GT(p0.min_timestamp, 1'600'000'000'000);
  EXPECT_GE(p0.max_timestamp, p0.min_timestamp);
  const auto& p1 = d->topics[0].partitions[1];
  EXPECT_EQ(p1.first_offset, 100);
  EXPECT_EQ(p1.last_offset, 103);
  EXPECT_EQ(p1.records, small_records);
  ASSERT_EQ(p1.gaps.size(), 1u) << "index and checkpoint name the same gap once";
  EXPECT_EQ(p1.gaps[0], (sf::offset_gap{0, 99}));
  EXPECT_EQ(d->records, 3 * small_records + big_records);
  EXPECT_EQ(d->segments, 3u);
  EXPECT_EQ(d->bytes_stored, file_size(seg00_) + file_size(seg01_) + file_size(seg10_));
  EXPECT_EQ(d->gaps, 1u);
}

TEST_F(Inspect, DescribeJsonHasTheDesignFields) {
  auto d = describe_backup(store_, "b1");
  ASSERT_TRUE(d);
  const auto v = boost::json::parse(describe_json(*d)).as_object();
  EXPECT_EQ(v.at("backup_id").as_string(), "b1");
  EXPECT_EQ(v.at("format_version").to_number<int>(), 1);
  EXPECT_EQ(v.at("source_cluster_id").as_string(), "cluster-x");
  const auto& t = v.at("topics").as_array().at(0).as_object();
  EXPECT_EQ(t.at("name").as_string(), "orders");
  const auto& p1 = t.at("partitions").as_array().at(1).as_object();
  for (const char* k : {"partition", "first_offset", "last_offset", "records", "bytes_raw", "bytes_stored",
                        "min_timestamp", "max_timestamp", "segments", "gaps"})
    EXPECT_TRUE(p1.contains(k)) << k;
  EXPECT_EQ(p1.at("first_offset").to_number<std::int64_t>(), 100);
  EXPECT_EQ(p1.at("records").to_number<std::int64_t>(), 4);
  EXPECT_EQ(p1.at("gaps").as_array().at(0).as_object().at("last_offset").to_number<std::int64_t>(), 99);
  const auto& totals = v.at("totals").as_object();
  EXPECT_EQ(totals.at("records").to_number<std::uint64_t>(), 3 * small_records + big_records);
  EXPECT_EQ(totals.at("segments").to_number<std::uint64_t>(), 3u);
  for (const char* k : {"records", "bytes_raw", "bytes_stored", "segments"}) EXPECT_TRUE(totals.contains(k)) << k;
}

TEST_F(Inspect, DescribeTextNamesTopicsAndGaps) {
  auto d = describe_backup(store_, "b1");
  ASSERT_TRUE(d);
  const std::string text = describe_text(*d);
  EXPECT_NE(text.find("Topic orders (2 partitions)"), std::string::npos) << text;
  EXPECT_NE(text.find("gap 0..99 (100 offsets"), std::string::npos) << text;
  EXPECT_NE(text.find("Total: 312 records"), std::string::npos) << text;
}

TEST_F(Inspect, DescribeShowsWhichWorkerWroteWhichRange) {
  // Partition 0 was written by two workers: m1 (generation 1) up to offset 304, then m2 (static,
  // generation 2), which took over at the checkpoint 304 and committed up to 308.
  namespace pb = pipeline::backup;
  pb::partition_owner rec{"grp", "m2", 2, 2'000, "pod-b"};
  rec.first_offset = 304;
  rec.next_offset = 308;
  rec.ended_ms = 3'000;
  rec.history.push_back(pb::owner_term{"m1", "", 1, 1'000, -1, 304, 1'500});
  ASSERT_TRUE(store_.put(pb::owner_key(sf::backup_paths{"b1"}, {"orders", 0}), as_bytes(pb::to_json(rec))));
  auto d = describe_backup(store_, "b1");
  ASSERT_TRUE(d) << d.error().message;
  const auto& owners = d->topics[0].partitions[0].owners;
  ASSERT_EQ(owners.size(), 2u);
  EXPECT_EQ(owners[0].member_id, "m1");
  EXPECT_EQ(owners[0].segments, 1u) << "the segment starting at 0";
  EXPECT_EQ(owners[1].instance_id, "pod-b");
  EXPECT_EQ(owners[1].segments, 1u) << "the segment starting at 304";
  EXPECT_TRUE(d->topics[0].partitions[1].owners.empty()) << "no owner record: a single-process backup";

  const std::string text = describe_text(*d);
  EXPECT_NE(text.find("written by m1, group grp generation 1, assigned 1970-01-01T00:00:01.000Z: offsets start..303"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("written by m2 (instance pod-b), group grp generation 2"), std::string::npos) << text;
  const auto v = boost::json::parse(describe_json(*d)).as_object();
  const auto& parts = v.at("topics").as_array().at(0).as_object().at("partitions").as_array();
  const auto& o = parts.at(0).as_object().at("owners").as_array().at(1).as_object();
  EXPECT_EQ(o.at("member_id").as_string(), "m2");
  EXPECT_EQ(o.at("first_offset").to_number<std::int64_t>(), 304);
  EXPECT_EQ(o.at("next_offset").to_number<std::int64_t>(), 308);
  EXPECT_EQ(o.at("segments").to_number<std::int64_t>(), 1);
  EXPECT_TRUE(parts.at(1).as_object().at("owners").as_array().empty());
}

}  // namespace
}  // namespace kb::pipeline::inspect
