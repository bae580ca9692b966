// Restore planning over a backup set written here with the storage format's builder into a
// temporary filesystem store: topic selection and mapping, frames the window needs, aborted
// transactions seen across segments, group offsets to translate, and the dry-run text.
#include "pipeline/restore/plan.hpp"

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "protocol/records/record_batch.hpp"
#include "storage/filesystem_store.hpp"
#include "storage/format/frame_filter.hpp"
#include "tests/storage/forwarding_store.hpp"

namespace kb::pipeline::restore {
namespace {

namespace sf = storage::format;

class plan_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kb-plan-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void put_json(const std::string& key, const std::string& text) { ASSERT_TRUE(store_->put(key, as_bytes(text))); }

  // One segment of `batches` (first offset, count, first/max timestamp, flags, pid), one batch per
  // frame so the plan's frame choice is visible.
  // `gaps` are recorded before the first batch (a log start inside it).
  void segment(const std::string& topic, int partition,
               const std::vector<std::tuple<std::int64_t, int, std::int64_t, std::uint16_t, std::int64_t>>& batches,
               const std::vector<sf::offset_gap>& gaps = {}) {
    sf::segment_builder::options o;
    o.header.topic = topic;
    o.header.partition = partition;
    o.header.codec = sf::frame_codec::none;
    o.frame_target_bytes = 1;  // every batch seals its frame
    sf::segment_builder b(o);
    for (const auto& g : gaps) b.add_gap(g);
    std::vector<sf::segment_builder::raw_frame> frames;
    for (const auto& [first, count, ts, flags, pid] : batches) {
      byte_vector bytes;
      sf::batch_entry e;
      e.first_offset = first;
      e.last_offset = first + count - 1;
      e.record_count = count;
      e.first_timestamp = ts;
      e.max_timestamp = ts + count - 1;
      e.flags = flags;
      e.producer_id = pid;
      if (flags & sf::batch_flags::control) {
        bytes = protocol::build_control_batch(flags & sf::batch_flags::abort_marker ? protocol::control_type::abort
                                                                                  : protocol::control_type::commit,
                                              pid, 0, 0, ts, first)
                    .value();
      } else {
        protocol::batch_options bo;
        bo.base_offset = first;
        bo.producer_id = pid;
        bo.producer_epoch = pid >= 0 ? 0 : -1;
        bo.base_sequence = pid >= 0 ? 0 : -1;
        bo.transactional = (flags & sf::batch_flags::transactional) != 0;
        protocol::record_batch_builder rb(bo);
        for (int i = 0; i < count; ++i) rb.add(ts + i, std::nullopt, as_bytes(std::string("v")));
        bytes = rb.build().value();
      }
      if (auto f = b.append(bytes, e)) frames.push_back(std::move(*f));
    }
    if (auto f = b.seal_frame()) frames.push_back(std::move(*f));
    std::vector<byte_vector> raw(frames.size());
    for (auto& f : frames) raw[f.frame] = sf::encode_frame(sf::frame_codec::none, 0, f.raw, sf::no_frame_filter).value();
    const auto first = b.first_offset(), last = b.last_offset();
    auto bytes = std::move(b).finish(std::move(raw));
    ASSERT_TRUE(bytes) << bytes.error().message;
    const std::string key = sf::backup_paths{"bk"}.segment(topic, partition, first, last);
    ASSERT_TRUE(store_->put(key, *bytes));
    // The checkpoint moves on as the backup's does (the restore checks the chain against it).
    const std::string ckey = sf::backup_paths{"bk"}.checkpoint(topic, partition);
    sf::partition_checkpoint cp;
    if (auto old = store_->get(ckey)) cp = sf::parse_checkpoint(std::string(old->begin(), old->end())).value();
    cp.topic = topic;
    cp.partition = partition;
    if (cp.first_offset < 0) cp.first_offset = first;
    cp.next_offset = last + 1;
    cp.last_segment = key;
    cp.segments += 1;
    put_json(ckey, sf::to_json(cp));
  }

  void backup(const std::vector<std::pair<std::string, int>>& topics) {
    sf::backup_manifest m;
    m.backup_id = "bk";
    m.source_cluster_id = "cluster-1";
    m.mode = "snapshot";
    m.compression = "none";
    m.tool_version = "test";
    for (const auto& [t, n] : topics) {
      m.topics.push_back(t);
      sf::topic_manifest tm;
      tm.name = t;
      tm.partition_count = n;
      tm.configs["retention.ms"] = "-1";
      put_json(sf::backup_paths{"bk"}.topic_manifest(t), sf::to_json(tm));
    }
    put_json(sf::backup_paths{"bk"}.backup_manifest(), sf::to_json(m));
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
};

TEST_F(plan_test, missing_backup_is_not_found_naming_it) {
  plan_options o;
  o.backup_id = "nope";
  auto p = build_plan(*store_, o);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(errc::not_found));
  EXPECT_NE(p.error().message.find("nope"), std::string::npos);
}

TEST_F(plan_test, selection_mapping_and_partition_mapping) {
  backup({{"orders", 2}, {"orders-internal", 1}, {"payments", 1}});
  segment("orders", 0, {{0, 5, 1000, 0, -1}});
  segment("orders", 1, {{0, 3, 1000, 0, -1}});
  segment("orders-internal", 0, {{0, 1, 1000, 0, -1}});
  segment("payments", 0, {{0, 2, 1000, 0, -1}});
  plan_options o;
  o.backup_id = "bk";
  o.include = {"orders*", "~pay.*"};
  o.exclude = {"*-internal"};
  o.topic_mapping = {{"orders", "orders-restored"}};
  o.partition_mapping = {{0, 1}, {1, 0}};
  auto p = build_plan(*store_, o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->topics.size(), 2u);
  EXPECT_EQ(p->topics[0].source, "orders");
  EXPECT_EQ(p->topics[0].target, "orders-restored");
  EXPECT_EQ(p->topics[1].target, "payments");
  ASSERT_EQ(p->partitions.size(), 3u);
  EXPECT_EQ(p->partitions[0].target_partition, 1);
  EXPECT_EQ(p->partitions[1].target_partition, 0);
  EXPECT_EQ(p->partitions[0].records, 5u);
  EXPECT_EQ(p->records(), 10u);
  const auto text = describe_plan(*p, o);
  EXPECT_NE(text.find("Topic orders -> orders-restored"), std::string::npos) << text;
  EXPECT_NE(text.find("partition 0 -> 1"), std::string::npos) << text;
}

TEST_F(plan_test, window_selects_frames_and_transactions_span_segments) {
  backup({{"t", 1}});
  const auto T = sf::batch_flags::transactional;
  const auto A = static_cast<std::uint16_t>(sf::batch_flags::control | sf::batch_flags::abort_marker | T);
  // Segment 1: plain 0..9 @1000, txn of pid 7 at 10..14 @2000 (its ABORT lies in segment 2).
  segment("t", 0, {{0, 10, 1000, 0, -1}, {10, 5, 2000, T, 7}});
  // Segment 2: plain 15..19 @3000, the ABORT marker at 20, plain 21..30 @5000.
  segment("t", 0, {{15, 5, 3000, 0, -1}, {20, 1, 3100, A, 7}, {21, 10, 5000, 0, -1}});
  plan_options o;
  o.backup_id = "bk";
  o.window.start = 1500;  // drops the first batch without reading it
  auto p = build_plan(*store_, o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->partitions.size(), 1u);
  const auto& part = p->partitions[0];
  ASSERT_EQ(part.segments.size(), 2u);
  EXPECT_TRUE(part.segments[0].frames.empty());  // frame 0 before the window, frame 1 aborted
  EXPECT_EQ(part.segments[1].frames, (std::vector<std::uint32_t>{0, 2}));
  EXPECT_EQ(part.records, 15u);
  EXPECT_EQ(part.first_offset, 15);
  EXPECT_EQ(part.last_offset, 30);
  EXPECT_EQ(part.dropped_batches, 3u);  // before the window, aborted, marker
}

TEST_F(plan_test, group_offsets_follow_the_mapping_and_repartitioning_is_not_translatable) {
  backup({{"a", 1}, {"b", 1}});
  segment("a", 0, {{0, 5, 1000, 0, -1}});
  segment("b", 0, {{0, 5, 1000, 0, -1}});
  sf::group_snapshot older;
  older.captured_ms = 100;
  older.groups["g1"] = {{"a", 0, 1, -1, ""}};
  sf::group_snapshot newer;
  newer.captured_ms = 200;
  newer.groups["g1"] = {{"a", 0, 3, -1, ""}, {"b", 0, 4, -1, ""}, {"gone", 0, 1, -1, ""}};
  put_json(sf::backup_paths{"bk"}.group_snapshot(100), sf::to_json(older));
  put_json(sf::backup_paths{"bk"}.group_snapshot(200), sf::to_json(newer));
  plan_options o;
  o.backup_id = "bk";
  o.topic_mapping = {{"a", "a2"}};
  o.repartitioning = {{"b", {repartition_strategy::murmur2, 3}}};
  o.consumer_groups = {"g1"};
  auto p = build_plan(*store_, o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->group_offsets.size(), 2u);  // the newest snapshot; topic "gone" is not restored
  EXPECT_EQ(p->group_offsets[0].source.offset, 3);
  EXPECT_EQ(p->group_offsets[0].target_topic, "a2");
  EXPECT_TRUE(p->group_offsets[0].translatable);
  EXPECT_FALSE(p->group_offsets[1].translatable);
  EXPECT_EQ(p->topics[1].target_partitions, 3);
  EXPECT_TRUE(p->warnings.empty());
  // A requested group the snapshot does not hold cannot be translated: a config error naming it.
  o.consumer_groups = {"g1", "missing"};
  auto bad = build_plan(*store_, o);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::config));
  EXPECT_NE(bad.error().message.find("consumer group 'missing' cannot be translated"), std::string::npos)
      << bad.error().message;
}

TEST_F(plan_test, a_requested_group_without_any_group_snapshot_is_a_config_error) {
  backup({{"a", 1}});
  segment("a", 0, {{0, 5, 1000, 0, -1}});
  plan_options o;
  o.backup_id = "bk";
  o.consumer_groups = {"bars-g"};
  auto p = build_plan(*store_, o);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(errc::config));
  EXPECT_NE(p.error().message.find("'bars-g'"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("no consumer-group snapshot"), std::string::npos) << p.error().message;
  o.consumer_groups.clear();
  o.auto_consumer_groups = true;  // all groups of the snapshot: none is fine, with a warning
  auto all = build_plan(*store_, o);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->warnings.size(), 1u);
}

TEST_F(plan_test, internal_topics_only_when_named) {
  backup({{"__consumer_offsets", 1}, {"app", 1}});
  segment("__consumer_offsets", 0, {{0, 2, 1000, 0, -1}});
  segment("app", 0, {{0, 2, 1000, 0, -1}});
  plan_options o;
  o.backup_id = "bk";
  auto p = build_plan(*store_, o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->topics.size(), 1u);
  EXPECT_EQ(p->topics[0].source, "app");
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_NE(p->warnings[0].find("__consumer_offsets"), std::string::npos);
  o.include = {"__consumer_offsets"};
  auto q = build_plan(*store_, o);
  ASSERT_TRUE(q);
  ASSERT_EQ(q->topics.size(), 1u);
  EXPECT_EQ(q->topics[0].source, "__consumer_offsets");
}

// issue #11 item 17: repartitioning keyed by the source name was silently ignored once
// topic_mapping renamed the topic; keys naming no restored topic were ignored too.
TEST_F(plan_test, repartitioning_keyed_by_the_source_name_applies_through_topic_mapping) {
  backup({{"a", 1}, {"b", 1}});
  segment("a", 0, {{0, 5, 1000, 0, -1}});
  segment("b", 0, {{0, 5, 1000, 0, -1}});
  plan_options o;
  o.backup_id = "bk";
  o.topic_mapping = {{"a", "a2"}, {"b", "b2"}};
  o.repartitioning = {{"a", {repartition_strategy::round_robin, 3}}, {"b2", {repartition_strategy::murmur2, 4}}};
  auto p = build_plan(*store_, o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->topics.size(), 2u);
  ASSERT_TRUE(p->topics[0].repartition.has_value());
  EXPECT_EQ(p->topics[0].repartition->strategy, repartition_strategy::round_robin);
  EXPECT_EQ(p->topics[0].target_partitions, 3);
  ASSERT_TRUE(p->topics[1].repartition.has_value());  // the target name still works
  EXPECT_EQ(p->topics[1].target_partitions, 4);
  EXPECT_EQ(p->partitions[0].target_partition, -1);
  const auto text = describe_plan(*p, o);
  EXPECT_NE(text.find("Topic a -> a2 (1 source partitions, target needs 3, repartitioned by round-robin into 3)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("partition 0 -> round-robin"), std::string::npos) << text;
  EXPECT_NE(text.find("repartitioned by murmur2 into 4"), std::string::npos) << text;
}

TEST_F(plan_test, repartitioning_keys_that_name_no_restored_topic_are_config_errors) {
  backup({{"a", 1}, {"skipped", 1}});
  segment("a", 0, {{0, 5, 1000, 0, -1}});
  segment("skipped", 0, {{0, 5, 1000, 0, -1}});
  plan_options o;
  o.backup_id = "bk";
  o.exclude = {"skipped"};
  o.repartitioning = {{"typo", {repartition_strategy::murmur2, 3}}};
  auto p = build_plan(*store_, o);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().is(errc::config));
  EXPECT_NE(p.error().message.find("restore.repartitioning.typo: no restored topic is named 'typo'"), std::string::npos)
      << p.error().message;
  EXPECT_NE(p.error().message.find("restored: a"), std::string::npos) << p.error().message;

  o.repartitioning = {{"skipped", {repartition_strategy::murmur2, 3}}};
  auto q = build_plan(*store_, o);
  ASSERT_FALSE(q);
  EXPECT_TRUE(q.error().is(errc::config));
  EXPECT_NE(q.error().message.find("is in the backup but this restore does not restore it"), std::string::npos)
      << q.error().message;

  o.topic_mapping = {{"a", "a2"}};
  o.repartitioning = {{"a", {repartition_strategy::murmur2, 3}}, {"a2", {repartition_strategy::murmur2, 5}}};
  auto both = build_plan(*store_, o);
  ASSERT_FALSE(both);
  EXPECT_TRUE(both.error().is(errc::config));
  EXPECT_NE(both.error().message.find("entries for both 'a' and 'a2'"), std::string::npos) << both.error().message;
}

// issue #12 item 7: the global partition_mapping widened every topic by every entry, even for
// partitions a topic does not have.
TEST_F(plan_test, partition_mapping_widens_a_topic_only_by_its_own_partitions) {
  backup({{"one", 1}, {"three", 3}});
  segment("one", 0, {{0, 1, 1000, 0, -1}});
  for (int p = 0; p < 3; ++p) segment("three", p, {{0, 1, 1000, 0, -1}});
  plan_options o;
  o.backup_id = "bk";
  o.partition_mapping = {{2, 5}};
  auto p = build_plan(*store_, o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->topics.size(), 2u);
  EXPECT_EQ(p->topics[0].source, "one");
  EXPECT_EQ(p->topics[0].target_partitions, 1);
  EXPECT_EQ(p->topics[1].target_partitions, 6);
}

TEST_F(plan_test, a_bad_regex_in_the_selection_is_a_config_error_not_an_empty_match) {
  backup({{"orders", 1}});
  segment("orders", 0, {{0, 5, 1000, 0, -1}});
  for (const bool in_exclude : {false, true}) {
    plan_options o;
    o.backup_id = "bk";
    (in_exclude ? o.exclude : o.include) = {"~orders(["};
    auto p = build_plan(*store_, o);
    ASSERT_FALSE(p) << "a bad regex must not plan " << (p ? p->topics.size() : 0) << " topic(s)";
    EXPECT_TRUE(p.error().is(errc::config)) << p.error().message;
    EXPECT_NE(p.error().message.find(in_exclude ? "target.topics.exclude" : "target.topics.include"),
              std::string::npos)
        << p.error().message;
    EXPECT_NE(p.error().message.find("'~orders(['"), std::string::npos) << p.error().message;
    EXPECT_NE(p.error().message.find("not a valid regular expression"), std::string::npos) << p.error().message;
  }
}

TEST(topic_matches, globs_and_regexes) {
  EXPECT_TRUE(topic_matches("orders-*", "orders-eu"));
  EXPECT_TRUE(topic_matches("orders-?", "orders-1"));
  EXPECT_FALSE(topic_matches("orders-?", "orders-12"));
  EXPECT_TRUE(topic_matches("*", "anything"));
  EXPECT_FALSE(topic_matches("orders", "orders2"));
  EXPECT_TRUE(topic_matches("~pay(ments)?-[0-9]+", "payments-42"));
  EXPECT_FALSE(topic_matches("~pay", "payments"));  // the whole name must match
}

TEST_F(plan_test, a_hole_in_the_segment_chain_refuses_unless_allow_gaps) {
  backup({{"a", 2}});
  segment("a", 0, {{0, 5, 1000, 0, -1}});
  segment("a", 0, {{5, 5, 1005, 0, -1}});
  segment("a", 0, {{10, 5, 1010, 0, -1}});
  segment("a", 1, {{0, 3, 1000, 0, -1}});
  ASSERT_TRUE(store_->remove(sf::backup_paths{"bk"}.segment("a", 0, 5, 9)));
  plan_options o;
  o.backup_id = "bk";
  auto refused = build_plan(*store_, o);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::corrupt));
  EXPECT_NE(refused.error().message.find("topic 'a' partition 0: offsets 5..9 are missing"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("restore.allow_gaps: true"), std::string::npos);

  o.allow_gaps = true;
  auto p = build_plan(*store_, o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->holes.size(), 1u);
  EXPECT_EQ(p->holes[0].first_offset, 5);
  EXPECT_EQ(p->holes[0].last_offset, 9);
  EXPECT_EQ(p->partitions[0].records, 10u) << "the rest of partition 0 is still restored";
  EXPECT_NE(describe_plan(*p, o).find("Hole: topic 'a' partition 0: offsets 5..9"), std::string::npos);
}

// The plan (and --dry-run) once counted a batch the log start fell into in full, though the
// records below the start are a recorded gap the restore skips.
TEST_F(plan_test, a_batch_the_log_start_fell_into_counts_only_its_live_records) {
  backup({{"a", 1}});
  segment("a", 0, {{0, 5, 1000, 0, -1}, {5, 5, 1005, 0, -1}}, {{0, 2}});
  plan_options o;
  o.backup_id = "bk";
  auto p = build_plan(*store_, o);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->partitions.size(), 1u);
  EXPECT_EQ(p->partitions[0].records, 7u);
  EXPECT_EQ(p->partitions[0].first_offset, 3);
  EXPECT_EQ(p->partitions[0].last_offset, 9);
  EXPECT_NE(describe_plan(*p, o).find("offsets 3..9"), std::string::npos) << describe_plan(*p, o);
  EXPECT_NE(describe_plan(*p, o).find("records <= 7,"), std::string::npos) << describe_plan(*p, o);
}

TEST_F(plan_test, a_segment_of_another_partition_refuses_even_with_allow_gaps) {
  backup({{"a", 2}});
  segment("a", 0, {{0, 5, 1000, 0, -1}});
  segment("a", 1, {{0, 5, 1000, 0, -1}});
  const sf::backup_paths paths{"bk"};
  auto other = store_->get(paths.segment("a", 1, 0, 4));
  ASSERT_TRUE(other);
  ASSERT_TRUE(store_->put(paths.segment("a", 0, 0, 4), *other));
  plan_options o;
  o.backup_id = "bk";
  o.allow_gaps = true;
  auto refused = build_plan(*store_, o);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(errc::corrupt));
  EXPECT_NE(refused.error().message.find("holds a-1, not a-0"), std::string::npos) << refused.error().message;
}

/// The filesystem store with one key left out of listings, as a listing taken just before a
/// running backup wrote that segment (and then moved its checkpoint on) would show.
class listing_hides final : public storage::testing::forwarding_store {
 public:
  listing_hides(storage::object_store& inner, std::string hidden) : forwarding_store(inner), hidden_(std::move(hidden)) {}

 protected:
  kb::result<std::vector<storage::object_info>> do_list(std::string_view p, const storage::list_options& o) override {
    auto all = forwarding_store::do_list(p, o);
    if (all) std::erase_if(*all, [&](const storage::object_info& i) { return i.key == hidden_; });
    return all;
  }

 private:
  std::string hidden_;
};

TEST_F(plan_test, a_running_backup_that_moved_its_checkpoint_on_is_no_hole) {
  backup({{"a", 1}});
  segment("a", 0, {{0, 5, 1000, 0, -1}});
  segment("a", 0, {{5, 5, 1005, 0, -1}});
  const std::string newest = sf::backup_paths{"bk"}.segment("a", 0, 5, 9);
  listing_hides store(*store_, newest);
  plan_options o;
  o.backup_id = "bk";
  auto p = build_plan(store, o);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->holes.empty());
  EXPECT_EQ(p->partitions[0].records, 5u) << "the chain as listed";

  // Really gone (not only unlisted): a hole.
  ASSERT_TRUE(store_->remove(newest));
  auto refused = build_plan(store, o);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("offsets 5..9 are missing"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace kb::pipeline::restore
