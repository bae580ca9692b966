#include "pipeline/backup/topic_selection.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::pipeline::backup {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<topic_candidate> cluster_topics = {
    {"orders-eu", false}, {"orders-us", false}, {"orders-internal", false}, {"payments", false},
    {"payment", false},   {"__consumer_offsets", true}, {"__transaction_state", true}, {"_schemas", false},
};

TEST(topic_selection, globs) {
  EXPECT_TRUE(*pattern_matches("orders-*", "orders-eu"));
  EXPECT_TRUE(*pattern_matches("*", ""));
  EXPECT_TRUE(*pattern_matches("pay?ent", "payment"));
  EXPECT_FALSE(*pattern_matches("pay?ent", "payments"));
  EXPECT_TRUE(*pattern_matches("a*b*c", "axxbyyc"));
  EXPECT_FALSE(*pattern_matches("a*b*c", "axxbyy"));
  EXPECT_TRUE(*pattern_matches("*-us", "orders-us"));
  EXPECT_FALSE(*pattern_matches("orders", "orders-us"));  // whole-name match
}

// fnmatch(3) syntax: classes and escapes. Kafka names cannot hold '[', ']' or '\\', so these
// patterns matched nothing before and are not literal names that must exist.
TEST(topic_selection, fnmatch_classes_and_escapes) {
  EXPECT_TRUE(*pattern_matches("orders-[eu][us]", "orders-eu"));
  EXPECT_FALSE(*pattern_matches("orders-[eu][us]", "orders-uk"));
  EXPECT_TRUE(*pattern_matches("orders-[a-f]*", "orders-eu"));
  EXPECT_FALSE(*pattern_matches("orders-[!e]*", "orders-eu"));
  EXPECT_TRUE(*pattern_matches("orders\\-eu", "orders-eu"));
  EXPECT_TRUE(*pattern_matches("a\\*", "a*"));
  EXPECT_FALSE(*pattern_matches("a\\*", "ab"));
  EXPECT_TRUE(*pattern_matches("*", ".dotted"));  // no FNM_PERIOD: a leading '.' is an ordinary character
  EXPECT_FALSE(is_literal("orders-[eu]s"));
  EXPECT_FALSE(is_literal("orders\\-eu"));
  auto s = select_topics(cluster_topics, {{"orders-[eu][us]", "payment[s]"}, {}, false});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_THAT(*s, ElementsAre("orders-eu", "orders-us", "payments"));
}

TEST(topic_selection, regex_is_anchored) {
  EXPECT_TRUE(*pattern_matches("~orders-(eu|us)", "orders-eu"));
  EXPECT_FALSE(*pattern_matches("~orders", "orders-eu"));
  auto bad = pattern_matches("~orders-(", "x");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::config));
  EXPECT_THAT(bad.error().message, HasSubstr("orders-("));
}

TEST(topic_selection, include_exclude) {
  auto s = select_topics(cluster_topics, {{"orders-*", "payments"}, {"*-internal"}, false});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_THAT(*s, ElementsAre("orders-eu", "orders-us", "payments"));
}

TEST(topic_selection, empty_include_takes_all_but_internal) {
  auto s = select_topics(cluster_topics, {});
  ASSERT_TRUE(s);
  EXPECT_THAT(*s, ElementsAre("_schemas", "orders-eu", "orders-internal", "orders-us", "payment", "payments"));
}

TEST(topic_selection, internal_topics_only_when_asked) {
  auto s = select_topics(cluster_topics, {{"__*"}, {}, true});
  ASSERT_TRUE(s);
  EXPECT_THAT(*s, ElementsAre("__consumer_offsets", "__transaction_state"));
  auto none = select_topics(cluster_topics, {{"__*"}, {}, false});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto literal = select_topics(cluster_topics, {{"__consumer_offsets"}, {}, false});
  ASSERT_FALSE(literal);
  EXPECT_TRUE(literal.error().is(errc::config));
  EXPECT_THAT(literal.error().message, HasSubstr("include_internal_topics"));
}

TEST(topic_selection, missing_literal_includes_are_named) {
  auto s = select_topics(cluster_topics, {{"orders-*", "paymnts", "ledger"}, {}, false});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::not_found));
  EXPECT_THAT(s.error().message, HasSubstr("'paymnts'"));
  EXPECT_THAT(s.error().message, HasSubstr("'ledger'"));
  // A glob that matches nothing is not an error by itself.
  auto g = select_topics(cluster_topics, {{"nothing-*"}, {}, false});
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->empty());
}

TEST(topic_selection, exclude_regex_and_dedup) {
  auto s = select_topics(cluster_topics, {{"orders-*", "~orders-.*"}, {"~.*-(us|internal)"}, false});
  ASSERT_TRUE(s);
  EXPECT_THAT(*s, ElementsAre("orders-eu"));
}

TEST(topic_selection, no_match_message_names_the_describe_acl_and_the_command) {
  const auto prefixed = no_topic_matches_message({{"orders-*", "payments"}, {"*-internal"}, false}, "User:backup",
                                                 "kafka-0:9093");
  EXPECT_THAT(prefixed, HasSubstr("no topic on the cluster matches source.topics (include 'orders-*', 'payments'"));
  EXPECT_THAT(prefixed, HasSubstr("missing Describe ACL for User:backup"));
  EXPECT_THAT(prefixed, HasSubstr("\n  kafka-acls.sh --bootstrap-server kafka-0:9093 --command-config admin.properties "
                                  "--add --allow-principal User:backup --operation Describe --operation Read "
                                  "--topic 'orders-' --resource-pattern-type prefixed"));
  EXPECT_THAT(prefixed, HasSubstr("--operation Read --topic 'payments'"));
  // A regex (or an inner wildcard) has no ACL pattern: the grant covers every topic.
  const auto any = no_topic_matches_message({{"~ord.*", "orders-*"}, {}, false}, "", "");
  EXPECT_THAT(any, HasSubstr("the client's principal"));
  EXPECT_THAT(any, HasSubstr("--bootstrap-server HOST:PORT"));
  EXPECT_THAT(any, HasSubstr("--allow-principal User:PRINCIPAL --operation Describe --operation Read --topic '*'"));
  EXPECT_THAT(any, ::testing::Not(HasSubstr("prefixed")));
}

TEST(topic_selection, a_bad_regex_names_the_key) {
  auto s = select_topics(cluster_topics, {{"orders-*"}, {"~(["}, false});
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().is(errc::config));
  EXPECT_THAT(s.error().message, HasSubstr("source.topics.exclude: topic pattern '~([' is not a valid regular"));
}

}  // namespace
}  // namespace kb::pipeline::backup
