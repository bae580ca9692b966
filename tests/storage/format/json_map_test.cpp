// json_map.hpp on its own: described structs both ways, required / optional / omitted-at-default
// members, the error path through nested objects, arrays and maps, strict leaves and ranges.
#include "storage/format/json_map.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/describe/class.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace kb::json_map_test {

using json_map::tag_invoke;

struct leaf {
  std::int16_t small = 0;
  bool flag = false;
  friend bool operator==(const leaf&, const leaf&) = default;
};
BOOST_DESCRIBE_STRUCT(leaf, (), (small, flag))

struct doc {
  std::string name;
  std::uint32_t version = 0;
  std::vector<leaf> leaves;
  std::map<std::string, std::vector<std::int64_t>> series;
  std::string comment;              // optional, always written
  std::vector<std::string> labels;  // optional, written only when set
  friend bool operator==(const doc&, const doc&) = default;
};
BOOST_DESCRIBE_STRUCT(doc, (), (name, version, leaves, series, comment, labels))
constexpr std::array<std::string_view, 1> json_optional(const doc* /*unused*/) { return {"comment"}; }
constexpr std::array<std::string_view, 1> json_omit_default(const doc* /*unused*/) { return {"labels"}; }

namespace {

std::string message_of(std::string_view text) {
  auto r = json_map::read_document<doc>(text, "doc.json");
  EXPECT_FALSE(r) << text;
  if (r) return {};
  EXPECT_TRUE(r.error().is(errc::corrupt)) << r.error().message;
  return r.error().message;
}

TEST(json_map, round_trip_in_declaration_order_leaving_out_only_omit_default_members) {
  doc d{"n", 1, {{-3, true}}, {{"a", {1, 2}}}, "", {}};
  const auto text = boost::json::serialize(boost::json::value_from(d));
  EXPECT_EQ(text, R"({"name":"n","version":1,"leaves":[{"small":-3,"flag":true}],"series":{"a":[1,2]},"comment":""})");
  auto back = json_map::read_document<doc>(text, "doc.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, d);
  d.labels = {"x"};
  EXPECT_NE(boost::json::serialize(boost::json::value_from(d)).find(R"("labels":["x"])"), std::string::npos);
}

TEST(json_map, optional_members_may_be_absent_and_unknown_fields_are_ignored) {
  auto r = json_map::read_document<doc>(
      R"({"name":"n","version":2,"leaves":[{"small":1,"flag":false,"later":[1]}],"series":{},"extra":{"x":1}})",
      "doc.json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->comment, "");
  EXPECT_TRUE(r->labels.empty());
  EXPECT_EQ(r->leaves, (std::vector<leaf>{{1, false}}));
}

TEST(json_map, errors_name_the_document_and_the_path) {
  const std::string head = R"({"name":"n","version":1,)";
  EXPECT_EQ(message_of(R"({"version":1,"leaves":[],"series":{}})"), "doc.json: field 'name' is missing");
  EXPECT_EQ(message_of(head + R"("leaves":[{"small":1,"flag":true},{"small":1}],"series":{}})"),
            "doc.json: field 'leaves[1].flag' is missing");
  EXPECT_EQ(message_of(head + R"("leaves":[{"small":1,"flag":1}],"series":{}})"),
            "doc.json: field 'leaves[0].flag' is not true/false");
  EXPECT_EQ(message_of(head + R"("leaves":[],"series":{"a.b":[1,"2"]}})"),
            "doc.json: field 'series[\"a.b\"][1]' is not an integer");
  EXPECT_EQ(message_of(head + R"("leaves":[],"series":[]})"), "doc.json: field 'series' is not an object");
  EXPECT_EQ(message_of(head + R"("leaves":[],"series":{},"labels":"x"})"), "doc.json: field 'labels' is not an array");
  EXPECT_EQ(message_of(R"({"name":"n","version":1,"leaves":[7],"series":{}})"),
            "doc.json: field 'leaves[0]' is not an object");
  EXPECT_EQ(message_of("[]"), "doc.json is not a JSON object");
  EXPECT_NE(message_of("{").find("doc.json is not valid JSON"), std::string::npos);
}

TEST(json_map, integers_are_exact_and_in_range) {
  const auto with = [](std::string_view version, std::string_view small) {
    return std::string(R"({"name":"n","version":)") + std::string(version) + R"(,"leaves":[{"small":)" +
           std::string(small) + R"(,"flag":true}],"series":{}})";
  };
  EXPECT_TRUE(json_map::read_document<doc>(with("4294967295", "-32768"), "doc.json"));
  EXPECT_EQ(message_of(with("4294967296", "0")),
            "doc.json: field 'version' is out of range: 4294967296 is not in 0..4294967295");
  EXPECT_EQ(message_of(with("-1", "0")), "doc.json: field 'version' is out of range: -1 is not in 0..4294967295");
  EXPECT_EQ(message_of(with("1", "32768")),
            "doc.json: field 'leaves[0].small' is out of range: 32768 is not in -32768..32767");
  EXPECT_EQ(message_of(with("1.0", "0")), "doc.json: field 'version' is not an integer");
  EXPECT_EQ(message_of(with("\"1\"", "0")), "doc.json: field 'version' is not an integer");
}

TEST(json_map, a_check_rejects_what_the_types_cannot_say) {
  auto r = json_map::read_document<doc>(R"({"name":"","version":1,"leaves":[],"series":{}})", "doc.json",
                                        [](const doc& d) {
                                          if (d.name.empty()) json_map::reject("name", "is empty");
                                        });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "doc.json: field 'name' is empty");
}

}  // namespace
}  // namespace kb::json_map_test
