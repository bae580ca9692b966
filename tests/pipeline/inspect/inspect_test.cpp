// list, describe and validate over backup sets synthesized with the format's builder in a temp
// directory: describe's numbers against the captured batches' known contents, and each finding
// of validate (corrupt byte, truncated segment, deleted segment, checkpoint pointing nowhere,
// unrecorded gap).
#include "pipeline/inspect/inspect.hpp"

#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"
#include "storage/format/manifest.hpp"
#include "tests/storage/format/test_batches.hpp"

namespace kb::pipeline::inspect {
namespace {

namespace sf = storage::format;
namespace fs = std::filesystem;
using sf::testing::rebased;
using sf::testing::test_batch;

// Facts about the captured batches (tests/protocol/records/testdata/librdkafka/README.md):
// *_small.bin hold 4 records, *_300.bin hold 300.
constexpr std::uint64_t small_records = 4;
constexpr std::uint64_t big_records = 300;

class Inspect : public ::testing::Test {
 protected:
  void SetUp() override {
    // orders-0: [0..3] [4..303] | [304..307]  (two segments)
    // orders-1: gap [0..99] then [100..103]    (one segment, gap recorded)
    write_manifest("b1", {"orders"});
    write_topic("b1", "orders", 2);
    seg00_ = write_segment("b1", "orders", 0, {rebased("none_small.bin", 0), rebased("zstd_300.bin", 4)},
                           sf::frame_codec::zstd);
    seg01_ = write_segment("b1", "orders", 0, {rebased("lz4_small.bin", 304)}, sf::frame_codec::lz4);
    write_checkpoint("b1", "orders", 0, seg01_, 308, {});
    seg10_ = write_segment("b1", "orders", 1, {rebased("gzip_small.bin", 100)}, sf::frame_codec::none, {{0, 99}});
    write_checkpoint("b1", "orders", 1, seg10_, 104, {{0, 99}});
  }

  void write_manifest(const std::string& id, std::vector<std::string> topics) {
    sf::backup_manifest m;
    m.tool_version = "0.1.0";
    m.backup_id = id;
    m.source_cluster_id = "cluster-x";
    m.created_ms = 1736899200000;
    m.updated_ms = 1736899200000;
    m.mode = "one-shot";
    m.compression = "zstd";
    m.topics = std::move(topics);
    ASSERT_TRUE(store_.put(sf::backup_paths{id}.backup_manifest(), as_bytes(sf::to_json(m))));
  }
  void write_topic(const std::string& id, const std::string& topic, std::int32_t partitions) {
    sf::topic_manifest t;
    t.name = topic;
    t.partition_count = partitions;
    ASSERT_TRUE(store_.put(sf::backup_paths{id}.topic_manifest(topic), as_bytes(sf::to_json(t))));
  }
  std::string write_segment(const std::string& id, const std::string& topic, std::int32_t p,
                            const std::vector<test_batch>& batches, sf::frame_codec codec,
                            const std::vector<sf::offset_gap>& gaps = {}) {
    auto bytes = sf::testing::build_segment(batches, codec, 1024, gaps, {}, topic, p);
    auto idx = sf::parse_segment(bytes);
    EXPECT_TRUE(idx);
    const std::string key = sf::backup_paths{id}.segment(topic, p, idx->first_offset(), idx->last_offset());
    EXPECT_TRUE(store_.put(key, bytes));
    return key;
  }
  void write_checkpoint(const std::string& id, const std::string& topic, std::int32_t p, const std::string& last,
                        std::int64_t next, std::vector<sf::offset_gap> gaps) {
    sf::partition_checkpoint c;
    c.topic = topic;
    c.partition = p;
    c.next_offset = next;
    c.last_segment = last;
    c.gaps = std::move(gaps);
    ASSERT_TRUE(store_.put(sf::backup_paths{id}.checkpoint(topic, p), as_bytes(sf::to_json(c))));
  }
  std::uint64_t file_size(const std::string& key) { return fs::file_size(dir_.path() / key); }
  static std::uint64_t testdata_size(const std::string& name) { return sf::testing::read_testdata(name).size(); }

  validation validate(bool deep) {
    auto v = validate_backup(store_, "b1", validate_options{deep});
    EXPECT_TRUE(v) << (v ? "" : v.error().message);
    return v ? *v : validation{};
  }
  static bool has(const validation& v, const std::string& key, const std::string& needle) {
    for (const auto& p : v.problems)
      if (p.key == key && p.problem.find(needle) != std::string::npos) return true;
    return false;
  }
  static std::string dump(const validation& v) { return validation_text(v); }

  sf::testing::temp_dir dir_;
  storage::filesystem_store store_{dir_.path()};
  std::string seg00_, seg01_, seg10_;
};

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

TEST_F(Inspect, UnknownBackupIdListsTheExistingOnes) {
  write_manifest("b2", {});
  auto d = describe_backup(store_, "nope");
  ASSERT_FALSE(d);
  EXPECT_TRUE(d.error().is(errc::not_found));
  EXPECT_NE(d.error().message.find("backups there: b1, b2"), std::string::npos) << d.error().message;
  auto v = validate_backup(store_, "nope", {});
  ASSERT_FALSE(v);
  EXPECT_TRUE(v.error().is(errc::not_found));
}

TEST_F(Inspect, ListShowsEveryBackupAndOnlyFoldersHoldingBackupJson) {
  write_manifest("b2", {"x", "y"});
  ASSERT_TRUE(store_.put("junk/readme.txt", as_bytes("hello")));  // a folder that is not a backup
  fs::create_directories(dir_.path() / "empty-dir");
  ASSERT_TRUE(store_.put("broken/backup.json", as_bytes("{not json")));  // a backup whose manifest is damaged
  auto l = list_backups(store_);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].backup_id, "b1");
  EXPECT_EQ((*l)[0].created_ms, 1736899200000);
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_.path() / "b1"))
    if (e.is_regular_file()) total += e.file_size();
  EXPECT_EQ((*l)[0].size_bytes, total);
  EXPECT_EQ((*l)[1].topics, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ((*l)[2].backup_id, "broken");
  EXPECT_FALSE((*l)[2].problem.empty());
  for (const auto& b : *l) {
    EXPECT_NE(b.backup_id, "junk");
    EXPECT_NE(b.backup_id, "empty-dir");
  }
  const std::string text = list_text(*l, "/somewhere/");
  EXPECT_NE(text.find("2025-01-15T00:00:00.000Z"), std::string::npos) << text;
  EXPECT_NE(text.find("3 backups in /somewhere/"), std::string::npos) << text;
  EXPECT_EQ(text.find("junk"), std::string::npos) << text;
  EXPECT_EQ(list_text({}, "/empty/"), "No backups in /empty/\n");
}

TEST_F(Inspect, OpenLocationRejectsAMissingDirectory) {
  auto s = open_location((dir_.path() / "does-not-exist").string(), [](std::string_view) { return std::nullopt; });
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::not_found));
  auto ok = open_location(dir_.path().string(), [](std::string_view) { return std::nullopt; });
  ASSERT_TRUE(ok) << ok.error().message;
}

TEST_F(Inspect, CleanBackupValidatesShallowAndDeep) {
  auto shallow = validate(false);
  EXPECT_TRUE(shallow.ok()) << dump(shallow);
  EXPECT_EQ(shallow.segments, 3u);
  EXPECT_EQ(shallow.batches, 4u);
  auto deep = validate(true);
  EXPECT_TRUE(deep.ok()) << dump(deep);
  EXPECT_EQ(deep.batches, 4u) << "each batch split from its frame and CRC-checked";
  EXPECT_EQ(validation_text(deep), "3 segments, 4 batches checked: OK\n");
}

TEST_F(Inspect, CorruptByteInAFrameIsFoundByDeepOnly) {
  auto idx = sf::parse_segment(*store_.get(seg00_));
  ASSERT_TRUE(idx);
  {
    std::fstream f(dir_.path() / seg00_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(idx->frames[0].file_offset + 5));
    f.put('\x5a');
  }
  EXPECT_TRUE(validate(false).ok()) << "the index is intact; only reading the frame shows the damage";
  auto deep = validate(true);
  EXPECT_TRUE(has(deep, seg00_, "frame 0 checksum mismatch")) << dump(deep);
  EXPECT_NE(validation_text(deep).find(": 1 problem\n"), std::string::npos) << dump(deep);
}

TEST_F(Inspect, EveryProblemIsListed) {
  // Truncated segment, deleted segment, checkpoint naming nothing, and an unrecorded gap, at once.
  fs::resize_file(dir_.path() / seg10_, fs::file_size(dir_.path() / seg10_) - 10);
  ASSERT_TRUE(store_.remove(seg01_));
  write_topic("b1", "orders", 3);
  const std::string seg20 = write_segment("b1", "orders", 2, {rebased("none_small.bin", 0)}, sf::frame_codec::none);
  const std::string seg21 = write_segment("b1", "orders", 2, {rebased("none_small.bin", 10)}, sf::frame_codec::none);
  write_checkpoint("b1", "orders", 2, sf::backup_paths{"b1"}.segment("orders", 2, 14, 20), 21, {});

  for (bool deep : {false, true}) {
    auto v = validate(deep);
    EXPECT_TRUE(has(v, seg10_, "too short") || has(v, seg10_, "trailer")) << dump(v);
    EXPECT_TRUE(has(v, "b1/topics/orders/0/checkpoint.json", "last_segment " + seg01_ + " does not exist")) << dump(v);
    EXPECT_TRUE(has(v, "b1/topics/orders/2/checkpoint.json", "does not exist")) << dump(v);
    EXPECT_TRUE(has(v, seg21, "offsets 4..9 between")) << dump(v);
    EXPECT_EQ(v.problems.size(), 4u) << dump(v);
    EXPECT_NE(validation_text(v).find(": 4 problems\n"), std::string::npos);
  }
}

TEST_F(Inspect, RecordedGapBetweenSegmentsIsFine) {
  write_topic("b1", "orders", 3);
  (void)write_segment("b1", "orders", 2, {rebased("none_small.bin", 0)}, sf::frame_codec::none);
  const std::string last = write_segment("b1", "orders", 2, {rebased("none_small.bin", 10)}, sf::frame_codec::none);
  write_checkpoint("b1", "orders", 2, last, 14, {{4, 9}});
  auto v = validate(true);
  EXPECT_TRUE(v.ok()) << dump(v);
}

TEST_F(Inspect, MissingCheckpointAndBadManifestAreFindings) {
  ASSERT_TRUE(store_.remove("b1/topics/orders/1/checkpoint.json"));
  ASSERT_TRUE(store_.put("b1/backup.json", as_bytes("{\"format_version\": 1}")));
  auto v = validate(false);
  EXPECT_TRUE(has(v, "b1/topics/orders/1/checkpoint.json", "missing")) << dump(v);
  EXPECT_TRUE(has(v, "b1/backup.json", "'tool_version' is missing")) << dump(v);
  EXPECT_TRUE(has(v, "b1/topics/orders/topic.json", "not listed in backup.json")) << dump(v);
}

TEST_F(Inspect, SegmentInTheWrongPartitionIsAFinding) {
  auto bytes = store_.get(seg10_);
  ASSERT_TRUE(bytes);
  const std::string moved = sf::backup_paths{"b1"}.segment("orders", 0, 100, 103);
  ASSERT_TRUE(store_.put(moved, *bytes));
  auto v = validate(false);
  EXPECT_TRUE(has(v, moved, "holds orders-1, not orders-0")) << dump(v);
}

}  // namespace
}  // namespace kb::pipeline::inspect
