// Backup resume without a broker: which segments a crash left are adopted into the checkpoint and
// which are removed (plan_resume, pure), and resume_partition against a filesystem store.
#include "pipeline/backup/resume.hpp"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"
#include "tests/storage/forwarding_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;

const sf::backup_paths paths{"b"};

std::string key(std::int64_t first, std::int64_t last) { return paths.segment("t", 0, first, last); }

/// An index of one batch per offset range, `records` records, timestamps first..last.
sf::segment_index index_of(std::int64_t first, std::int64_t last, std::int32_t records = 10,
                           std::vector<sf::offset_gap> gaps = {}) {
  sf::segment_index idx;
  sf::batch_entry b;
  b.first_offset = first;
  b.last_offset = last;
  b.record_count = records;
  idx.batches.push_back(b);
  sf::frame_entry f;
  f.raw_size = 1000;
  f.min_timestamp = 5000 + first;
  f.max_timestamp = 5000 + last;
  idx.frames.push_back(f);
  idx.gaps = std::move(gaps);
  idx.file_size = 400;
  return idx;
}

/// Reads indexes from a table; a key not in it reads as corrupt.
struct table_reader {
  explicit table_reader(std::map<std::string, sf::segment_index> i = {}) : indexes(std::move(i)) {}
  std::map<std::string, sf::segment_index> indexes;
  mutable std::vector<std::string> asked;
  result<sf::segment_index> operator()(const std::string& k, std::uint64_t) const {
    asked.push_back(k);
    auto it = indexes.find(k);
    if (it == indexes.end()) return fail(errc::corrupt, "index checksum mismatch");
    return it->second;
  }
};

sf::partition_checkpoint checkpoint_at(std::int64_t next) {
  sf::partition_checkpoint c;
  c.topic = "t";
  c.next_offset = next;
  c.last_segment = key(0, next - 1);
  c.segments = 1;
  c.records = 7;
  c.first_offset = 0;
  return c;
}

TEST(resume_plan, a_new_partition_has_no_checkpoint_and_nothing_to_do) {
  const auto p = plan_resume(std::nullopt, "t", 3, {}, table_reader{});
  EXPECT_FALSE(p.has_checkpoint);
  EXPECT_EQ(p.checkpoint.topic, "t");
  EXPECT_EQ(p.checkpoint.partition, 3);
  EXPECT_TRUE(p.adopted.empty());
  EXPECT_TRUE(p.removals.empty());
}

TEST(resume_plan, segments_continuing_the_checkpoint_are_adopted_in_a_chain) {
  table_reader r{{{key(100, 199), index_of(100, 199)}, {key(200, 249), index_of(200, 249, 4)}}};
  const auto p = plan_resume(checkpoint_at(100), "t", 0,
                             {{key(0, 99), 500}, {key(100, 199), 400}, {key(200, 249), 400}}, std::cref(r));
  EXPECT_EQ(p.adopted, (std::vector<std::string>{key(100, 199), key(200, 249)}));
  EXPECT_TRUE(p.removals.empty());
  EXPECT_EQ(r.asked, (std::vector<std::string>{key(100, 199), key(200, 249)}));  // the covered one is not read
  EXPECT_EQ(p.checkpoint.next_offset, 250);
  EXPECT_EQ(p.checkpoint.last_segment, key(200, 249));
  EXPECT_EQ(p.checkpoint.segments, 3u);
  EXPECT_EQ(p.checkpoint.records, 7u + 10 + 4);
  EXPECT_EQ(p.checkpoint.bytes_raw, 2000u);
  EXPECT_EQ(p.checkpoint.bytes_stored, 800u);
  EXPECT_EQ(p.checkpoint.first_offset, 0);  // kept from the checkpoint
  EXPECT_EQ(p.checkpoint.min_timestamp, 5100);
  EXPECT_EQ(p.checkpoint.max_timestamp, 5249);
}

TEST(resume_plan, a_segment_that_does_not_follow_is_removed) {
  table_reader r{{{key(150, 199), index_of(150, 199)}}};
  const auto p = plan_resume(checkpoint_at(100), "t", 0, {{key(150, 199), 400}}, std::cref(r));
  EXPECT_TRUE(p.adopted.empty());
  ASSERT_EQ(p.removals.size(), 1u);
  EXPECT_EQ(p.removals[0].key, key(150, 199));
  EXPECT_EQ(p.removals[0].why, "not checkpointed and does not follow offset 100");
  EXPECT_EQ(p.checkpoint.next_offset, 100);
  EXPECT_TRUE(r.asked.empty());
}

TEST(resume_plan, an_unreadable_or_misnamed_index_is_removed_and_ends_the_chain) {
  table_reader r{{{key(100, 199), index_of(100, 180)}}};  // offsets differ from the name
  const auto p = plan_resume(checkpoint_at(100), "t", 0, {{key(100, 199), 400}, {key(200, 299), 400}}, std::cref(r));
  EXPECT_TRUE(p.adopted.empty());
  ASSERT_EQ(p.removals.size(), 2u);
  EXPECT_NE(p.removals[0].why.find("offsets differ from its name"), std::string::npos) << p.removals[0].why;
  EXPECT_EQ(p.removals[1].why, "not checkpointed and does not follow offset 100");

  table_reader corrupt;
  const auto q = plan_resume(checkpoint_at(100), "t", 0, {{key(100, 199), 400}}, std::cref(corrupt));
  ASSERT_EQ(q.removals.size(), 1u);
  EXPECT_NE(q.removals[0].why.find("index checksum mismatch"), std::string::npos) << q.removals[0].why;
  EXPECT_EQ(q.checkpoint.next_offset, 100);
}

TEST(resume_plan, without_a_checkpoint_the_first_verified_segment_starts_the_chain) {
  table_reader r{{{key(50, 99), index_of(50, 99)}, {key(100, 149), index_of(100, 149)}, {key(300, 310), index_of(300, 310)}}};
  const auto p = plan_resume(std::nullopt, "t", 0,
                             {{key(50, 99), 1}, {key(100, 149), 1}, {key(300, 310), 1}, {key(60, 70), 1}}, std::cref(r));
  EXPECT_TRUE(p.has_checkpoint);
  EXPECT_EQ(p.adopted, (std::vector<std::string>{key(50, 99), key(100, 149)}));
  ASSERT_EQ(p.removals.size(), 1u);  // 60..70 lies below the chain: covered, left alone
  EXPECT_EQ(p.removals[0].key, key(300, 310));
  EXPECT_EQ(p.checkpoint.first_offset, 50);
  EXPECT_EQ(p.checkpoint.next_offset, 150);
}

TEST(resume_plan, objects_that_are_not_segments_are_left_alone) {
  table_reader r;
  const auto p = plan_resume(checkpoint_at(100), "t", 0,
                             {{paths.checkpoint("t", 0), 10}, {paths.partition_dir("t", 0) + "x.tmp", 3}}, std::cref(r));
  EXPECT_TRUE(p.adopted.empty());
  EXPECT_TRUE(p.removals.empty());
  EXPECT_TRUE(r.asked.empty());
}

TEST(resume_plan, gaps_of_adopted_segments_merge_into_the_checkpoint) {
  auto c = checkpoint_at(100);
  c.gaps = {{10, 20}};
  table_reader r{{{key(100, 199), index_of(100, 199, 10, {{100, 104}, {150, 159}})}}};
  const auto p = plan_resume(c, "t", 0, {{key(100, 199), 400}}, std::cref(r));
  ASSERT_EQ(p.adopted.size(), 1u);
  EXPECT_EQ(p.checkpoint.gaps, (std::vector<sf::offset_gap>{{10, 20}, {100, 104}, {150, 159}}));
}

TEST(resume_plan, add_gap_merges_overlaps_and_keeps_disjoint_ones) {
  std::vector<sf::offset_gap> g;
  add_gap(g, {5, 9});
  add_gap(g, {20, 25});
  add_gap(g, {8, 12});
  add_gap(g, {1, 5});
  EXPECT_EQ(g, (std::vector<sf::offset_gap>{{1, 12}, {20, 25}}));
}

class resume_store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kb-resume-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
};

TEST_F(resume_store_test, a_new_partition_resumes_empty) {
  auto r = resume_partition(*store_, paths, "t", 2, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->has_checkpoint);
  EXPECT_EQ(r->checkpoint.partition, 2);
}

TEST_F(resume_store_test, a_corrupt_checkpoint_is_an_error_naming_the_file) {
  ASSERT_TRUE(store_->put(paths.checkpoint("t", 0), as_bytes(std::string("{not json"))));
  auto r = resume_partition(*store_, paths, "t", 0, 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(paths.checkpoint("t", 0)), std::string::npos) << r.error().message;
}

TEST_F(resume_store_test, an_orphan_past_the_checkpoint_is_removed_from_the_store) {
  auto c = checkpoint_at(100);
  c.last_segment.clear();
  ASSERT_TRUE(store_->put(paths.checkpoint("t", 0), as_bytes(sf::to_json(c))));
  ASSERT_TRUE(store_->put(key(100, 199), as_bytes(std::string("not a segment"))));  // unreadable index
  ASSERT_TRUE(store_->put(key(0, 99), as_bytes(std::string("covered"))));
  auto r = resume_partition(*store_, paths, "t", 0, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->checkpoint, c);  // unchanged
  EXPECT_TRUE(store_->get(key(100, 199)).error().is(errc::not_found));
  EXPECT_TRUE(store_->get(key(0, 99)));  // below the checkpoint: kept
}


using storage::testing::counting_store;

TEST_F(resume_store_test, one_topic_listing_is_cut_into_its_partitions_folders) {
  for (const auto& k : {paths.topic_manifest("t"), paths.checkpoint("t", 0), paths.segment("t", 1, 0, 9),
                        paths.segment("t", 10, 0, 9), paths.checkpoint("t", 10), paths.root() + "topics/t/007/x",
                        paths.root() + "topics/t/x/y", paths.checkpoint("t2", 1)})
    ASSERT_TRUE(store_->put(k, as_bytes(std::string("x"))));
  auto cut = list_topic_partitions(*store_, paths, "t");
  ASSERT_TRUE(cut) << cut.error().message;
  ASSERT_EQ(cut->size(), 3u);  // not topic.json, "007" (not how partition 7 is named), "x", nor topic t2
  ASSERT_EQ(cut->at(0).size(), 1u);
  EXPECT_EQ(cut->at(0)[0].key, paths.checkpoint("t", 0));
  EXPECT_EQ(cut->at(1)[0].key, paths.segment("t", 1, 0, 9));
  EXPECT_EQ(cut->at(10).size(), 2u);
}

TEST_F(resume_store_test, a_listed_partition_without_a_checkpoint_reads_nothing) {
  counting_store counted(*store_);
  auto r = resume_partition(counted, paths, "t", 3, 1, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->has_checkpoint);
  EXPECT_EQ(counted.gets, 0);  // no failed checkpoint read
  EXPECT_EQ(counted.lists, 0);
}

TEST_F(resume_store_test, a_listed_checkpoint_is_read_and_an_orphan_after_it_removed) {
  auto c = checkpoint_at(100);
  c.last_segment.clear();
  ASSERT_TRUE(store_->put(paths.checkpoint("t", 0), as_bytes(sf::to_json(c))));
  ASSERT_TRUE(store_->put(key(100, 199), as_bytes(std::string("not a segment"))));
  counting_store counted(*store_);
  auto cut = list_topic_partitions(counted, paths, "t");
  ASSERT_TRUE(cut);
  auto r = resume_partition(counted, paths, "t", 0, 1, cut->at(0));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->has_checkpoint);
  EXPECT_EQ(r->checkpoint, c);
  EXPECT_EQ(counted.lists, 1);
  EXPECT_TRUE(store_->get(key(100, 199)).error().is(errc::not_found));
}

}  // namespace
}  // namespace kb::pipeline::backup
