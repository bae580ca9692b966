// reset-offsets' pure half: the offset each strategy chooses, the idle-group check, the reports.
#include "pipeline/offsets/reset_plan.hpp"

#include <gtest/gtest.h>

namespace of = kb::pipeline::offsets;

namespace {

of::reset_request request(of::strategy s, std::int64_t offset = 0) {
  of::reset_request r;
  r.groups = {"g"};
  r.how = s;
  r.offset = offset;
  return r;
}

kb::protocol::describe_groups_response::group group(std::string state, int members, std::int16_t code = 0) {
  kb::protocol::describe_groups_response::group g;
  g.group_id = "orders";
  g.group_state = std::move(state);
  g.error_code = code;
  for (int i = 0; i < members; ++i) g.members.push_back({"m-" + std::to_string(i), std::nullopt, "app", "/127.0.0.1", {}, {}});
  return g;
}

}  // namespace

TEST(ResetPlan, StrategiesChooseLikeKafka) {
  const of::partition_bounds b{10, 50, 30};
  EXPECT_EQ(of::choose_offset(request(of::strategy::to_earliest), b), 10);
  EXPECT_EQ(of::choose_offset(request(of::strategy::to_latest), b), 50);
  EXPECT_EQ(of::choose_offset(request(of::strategy::to_timestamp), b), 30);
  EXPECT_EQ(of::choose_offset(request(of::strategy::to_timestamp), {10, 50, -1}), 50);  // past the end
  EXPECT_EQ(of::choose_offset(request(of::strategy::to_offset, 20), b), 20);
  EXPECT_EQ(of::choose_offset(request(of::strategy::to_offset, 5), b), 10);    // before the start: clamped
  EXPECT_EQ(of::choose_offset(request(of::strategy::to_offset, 500), b), 50);  // past the end: clamped
}

TEST(ResetPlan, StrategyNamesRoundTrip) {
  for (auto s : {of::strategy::to_earliest, of::strategy::to_latest, of::strategy::to_timestamp, of::strategy::to_offset})
    EXPECT_EQ(of::parse_strategy(of::to_string(s)), s);
  EXPECT_FALSE(of::parse_strategy("earliest"));
}

TEST(ResetPlan, OnlyEmptyOrDeadGroupsAreReset) {
  EXPECT_TRUE(of::check_group_idle(group("Empty", 0), ""));
  EXPECT_TRUE(of::check_group_idle(group("Dead", 0), ""));
  auto active = of::check_group_idle(group("Stable", 2), "");
  ASSERT_FALSE(active);
  EXPECT_EQ(kb::exit_code_for(active.error()), kb::exit_code::runtime);
  EXPECT_NE(active.error().message.find("consumer group 'orders' is Stable with 2 member(s)"), std::string::npos);
  EXPECT_NE(active.error().message.find("m-1 (client app, host /127.0.0.1)"), std::string::npos);
  EXPECT_FALSE(of::check_group_idle(group("PreparingRebalance", 0), ""));
}

TEST(ResetPlan, GroupAclDenialIsAuthorization) {
  auto denied = of::check_group_idle(group("", 0, 30), "User:noacl");
  ASSERT_FALSE(denied);
  EXPECT_EQ(kb::exit_code_for(denied.error()), kb::exit_code::access);
  EXPECT_NE(denied.error().message.find("Not authorized to access group 'orders'"), std::string::npos);
  EXPECT_NE(denied.error().message.find("User:noacl"), std::string::npos);
}

TEST(ResetPlan, ReportsListEveryPartition) {
  of::reset_report r;
  r.how = of::strategy::to_latest;
  r.groups = {"g"};
  r.rows = {{"g", "t", 0, 5, 9}, {"g", "t", 1, -1, 3}};
  const auto text = of::report_text(r);
  EXPECT_NE(text.find("g      t              0             5 ->            9"), std::string::npos) << text;
  EXPECT_NE(text.find("Reset: 2 partitions of 1 group committed (to-latest)"), std::string::npos) << text;
  const auto json = of::report_json(r);
  EXPECT_NE(json.find(R"({"group":"g","topic":"t","partition":1,"old_offset":null,"new_offset":3})"), std::string::npos)
      << json;
}
