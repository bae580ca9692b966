// A backup set synthesized with the format's builder in a temp directory, shared by the list,
// describe, validate and backup_objects tests.
#pragma once

#include "pipeline/inspect/inspect.hpp"

#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"
#include "storage/format/manifest.hpp"
#include "tests/storage/format/test_batches.hpp"

namespace kb::pipeline::inspect {
namespace testing {

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


}  // namespace testing
}  // namespace kb::pipeline::inspect
