// Consumer-group commits after a restore (pipeline/restore/group_commit.hpp), no broker: how
// source offsets become target offsets or notes, and what each OffsetCommit answer means.
#include <gtest/gtest.h>

#include "pipeline/restore/group_commit.hpp"
#include "protocol/error_codes.hpp"

namespace kb::pipeline::restore {
namespace {

using protocol::error_code;

planned_group_offset offset(const std::string& topic, std::int32_t partition, std::int64_t at,
                            const std::string& target, bool translatable = true) {
  planned_group_offset g;
  g.group = "g";
  g.source = {topic, partition, at, -1, "meta"};
  g.target_topic = target;
  g.target_partition = partition;
  g.translatable = translatable;
  return g;
}

partition_state restored(const std::string& topic, std::int32_t partition, std::int64_t source_first,
                         std::int64_t target_first, std::int64_t count) {
  partition_state s{topic, partition, topic + "-r", partition, 0, -1, 0, 0, true, {}, {}};
  if (count > 0) {
    EXPECT_TRUE(s.map.add(source_first, target_first, count));
    s.target_end = target_first + count;
  }
  return s;
}

TEST(group_commit, offsets_are_translated_through_the_offset_map_and_grouped_by_topic) {
  const auto a0 = offset("a", 0, 105, "a-r");
  const auto a1 = offset("a", 1, 3, "a-r");
  const auto b0 = offset("b", 0, 0, "b-r");
  const std::vector<partition_state> parts{restored("a", 0, 100, 0, 10), restored("a", 1, 0, 50, 5),
                                           restored("b", 0, 0, 7, 1)};
  auto plan = plan_group_commit("g", {&a0, &a1, &b0}, parts);
  EXPECT_TRUE(plan.notes.empty());
  EXPECT_EQ(plan.request.group_id, "g");
  EXPECT_EQ(plan.request.generation_id_or_member_epoch, -1);
  ASSERT_EQ(plan.request.topics.size(), 2u);
  EXPECT_EQ(plan.request.topics[0].name, "a-r");
  ASSERT_EQ(plan.request.topics[0].partitions.size(), 2u);
  EXPECT_EQ(plan.request.topics[0].partitions[0].committed_offset, 5);
  EXPECT_EQ(plan.request.topics[0].partitions[1].committed_offset, 53);
  EXPECT_EQ(plan.request.topics[0].partitions[0].committed_metadata, "meta");
  EXPECT_EQ(plan.request.topics[1].partitions[0].committed_offset, 7);
}

TEST(group_commit, an_offset_past_the_restored_records_lands_at_the_target_end) {
  const auto a0 = offset("a", 0, 500, "a-r");
  auto plan = plan_group_commit("g", {&a0}, {restored("a", 0, 100, 0, 10)});
  ASSERT_EQ(plan.request.topics.size(), 1u);
  EXPECT_EQ(plan.request.topics[0].partitions[0].committed_offset, 10);
}

TEST(group_commit, untranslatable_offsets_become_notes) {
  const auto rep = offset("a", 0, 5, "a-r", false);
  const auto nothing = offset("b", 0, 5, "b-r");
  const auto unknown = offset("c", 0, 5, "c-r");  // no state: not restored, no note
  auto plan = plan_group_commit("g", {&rep, &nothing, &unknown}, {restored("b", 0, 0, 0, 0)});
  EXPECT_TRUE(plan.request.topics.empty());
  ASSERT_EQ(plan.notes.size(), 2u);
  EXPECT_NE(plan.notes[0].find("a[0]: not translated: topic 'a-r' is repartitioned"), std::string::npos);
  EXPECT_NE(plan.notes[1].find("b[0]: no records restored"), std::string::npos);
}

protocol::offset_commit_response answer(std::vector<error_code> codes) {
  protocol::offset_commit_response r;
  r.topics.push_back({"t", {}});
  std::int32_t i = 0;
  for (auto c : codes) r.topics[0].partitions.push_back({i++, static_cast<std::int16_t>(c)});
  return r;
}

TEST(group_commit, a_clean_answer_counts_the_committed_partitions) {
  auto r = judge_commit("g", answer({error_code::none, error_code::none}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->committed, 2u);
  EXPECT_FALSE(r->retry);
}

TEST(group_commit, coordinator_moves_are_retried) {
  for (auto c : {error_code::not_coordinator, error_code::coordinator_load_in_progress}) {
    auto r = judge_commit("g", answer({error_code::none, c}));
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->retry);
    EXPECT_EQ(*r->retry, static_cast<std::int16_t>(c));
  }
}

TEST(group_commit, authorization_names_the_missing_acl) {
  auto g = judge_commit("g", answer({error_code::group_authorization_failed}));
  ASSERT_FALSE(g);
  EXPECT_TRUE(g.error().is(errc::authorization));
  EXPECT_NE(g.error().message.find("--operation Read --group g"), std::string::npos);
  auto t = judge_commit("g", answer({error_code::topic_authorization_failed}));
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().is(errc::authorization));
  EXPECT_NE(t.error().message.find("--operation Read --topic t"), std::string::npos);
}

TEST(group_commit, an_active_group_is_a_conflict) {
  for (auto c : {error_code::unknown_member_id, error_code::illegal_generation, error_code::rebalance_in_progress}) {
    auto r = judge_commit("g", answer({c}));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::conflict)) << r.error().message;
    EXPECT_NE(r.error().message.find("became active during the restore"), std::string::npos);
  }
}

TEST(group_commit, other_errors_are_fatal) {
  auto r = judge_commit("g", answer({error_code::invalid_record}));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::broker));
  EXPECT_NE(r.error().message.find("OffsetCommit for group 'g' on t[0]: INVALID_RECORD"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace kb::pipeline::restore
