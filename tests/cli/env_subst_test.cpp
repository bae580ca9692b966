#include "cli/env_subst.hpp"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace kb::cli {
namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(env_subst, replaces_braced_variables) {
  const auto r = substitute_env("a: ${A}\nb: x${B}y\n", fake_env({{"A", "1"}, {"B", "two"}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text(), "a: 1\nb: xtwoy\n");
  ASSERT_EQ(r->spans().size(), 2u);
  EXPECT_EQ(r->spans()[0].variable, "A");
  EXPECT_EQ(r->spans()[0].output_begin, 3u);
  EXPECT_EQ(r->spans()[0].output_end, 4u);
  EXPECT_EQ(r->spans()[1].variable, "B");
  EXPECT_EQ(r->spans()[1].output_begin, 9u);  // "a: 1\nb: x" is 9 bytes
  EXPECT_EQ(r->spans()[1].output_end, 12u);
  EXPECT_EQ(r->spans()[1].source_begin, 12u);  // "a: ${A}\nb: x" is 12 bytes
  EXPECT_EQ(r->spans()[1].source_end, 16u);
}

TEST(env_subst, default_used_when_unset_or_empty) {
  const auto r = substitute_env("a: ${A:-fallback}\nb: ${B:-d}\nc: ${C:-}\n",
                                fake_env({{"B", ""}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text(), "a: fallback\nb: d\nc: \n");
  EXPECT_TRUE(r->spans()[0].from_default);
}

TEST(env_subst, set_value_wins_over_default) {
  const auto r = substitute_env("a: ${A:-fallback}", fake_env({{"A", "real"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text(), "a: real");
  EXPECT_FALSE(r->spans()[0].from_default);
}

TEST(env_subst, unset_variable_names_variable_line_and_column) {
  const auto r = substitute_env("mode: backup\nsource:\n  pw: ${KAFKA_PASSWORD}\n", fake_env({}),
                                "secure.yaml");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(kb::errc::config));
  EXPECT_NE(r.error().message.find("secure.yaml:3:7:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("KAFKA_PASSWORD is not set"), std::string::npos);
}

TEST(env_subst, reports_every_unset_variable) {
  const auto r = substitute_env("a: ${X}\nb: ${Y}\n", fake_env({}), "f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("f:1:4: environment variable X"), std::string::npos);
  EXPECT_NE(r.error().message.find("f:2:4: environment variable Y"), std::string::npos);
}

TEST(env_subst, double_dollar_is_literal_dollar) {
  const auto r = substitute_env("p: a$$b $${NOT_A_VAR}", fake_env({}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text(), "p: a$b ${NOT_A_VAR}");
}

TEST(env_subst, lone_dollar_and_bare_name_stay) {
  const auto r = substitute_env("p: $ cost $5 $HOME end$", fake_env({{"HOME", "/root"}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text(), "p: $ cost $5 $HOME end$");
  EXPECT_TRUE(r->spans().empty());
}

TEST(env_subst, comment_lines_are_not_substituted) {
  const auto r = substitute_env("# uses ${UNSET}\n  # also ${UNSET}\na: ${A}\n", fake_env({{"A", "1"}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text(), "# uses ${UNSET}\n  # also ${UNSET}\na: 1\n");
}

TEST(env_subst, unterminated_reference_is_an_error) {
  const auto r = substitute_env("a: 1\nb: ${OOPS\n", fake_env({{"OOPS", "x"}}), "f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("f:2:4: unterminated"), std::string::npos) << r.error().message;
}

TEST(env_subst, invalid_name_is_an_error) {
  const auto r = substitute_env("a: ${1X}", fake_env({}), "f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("f:1:4: invalid variable name '1X'"), std::string::npos)
      << r.error().message;
}

TEST(env_subst, values_never_appear_in_errors) {
  // A set secret next to an unset variable: the error must not carry the secret.
  const auto r = substitute_env("pw: ${PW}\nx: ${MISSING}\n", fake_env({{"PW", "s3cr3t-value"}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("s3cr3t-value"), std::string::npos);
}

TEST(env_subst, maps_output_offsets_back_to_original_positions) {
  // The value spans two lines; later text must still map to its original line.
  // (Not a whole value, so it is pasted raw.)
  const std::string text = "a: x${MULTI}\nb: $$x\nc: bad\n";
  const auto r = substitute_env(text, fake_env({{"MULTI", "one\ntwo"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text(), "a: xone\ntwo\nb: $x\nc: bad\n");
  const auto c_out = r->text().find("c: bad");
  const auto pos = r->original_position(c_out);
  EXPECT_EQ(pos.line, 3u);
  EXPECT_EQ(pos.column, 1u);
  // After `$$` on line 2: the `x` is at original column 6.
  const auto x_out = r->text().find("$x") + 1;
  EXPECT_EQ(r->original_position(x_out).line, 2u);
  EXPECT_EQ(r->original_position(x_out).column, 6u);
  // Inside the value: maps to the `$` of the reference.
  const auto inside = r->text().find("two");
  EXPECT_EQ(r->original_position(inside).line, 1u);
  EXPECT_EQ(r->original_position(inside).column, 5u);
}

TEST(env_subst, span_overlapping_finds_variables_not_escapes) {
  const auto r = substitute_env("a: $$ b: ${V}", fake_env({{"V", "val"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->span_overlapping(3, 4), nullptr);  // the `$` from `$$`
  const auto v = r->text().find("val");
  const auto* span = r->span_overlapping(v + 1, v + 2);
  ASSERT_NE(span, nullptr);
  EXPECT_EQ(span->variable, "V");
}

TEST(env_subst, position_of_counts_lines_and_columns_from_one) {
  EXPECT_EQ(position_of("ab\ncd", 0).line, 1u);
  EXPECT_EQ(position_of("ab\ncd", 4).line, 2u);
  EXPECT_EQ(position_of("ab\ncd", 4).column, 2u);
}

}  // namespace
}  // namespace kb::cli

namespace kb::cli {
namespace {

// Values that YAML would misread if pasted as plain scalars are quoted; each must read back
// byte-for-byte through the config loader's YAML parser.
TEST(env_subst_quoting, tricky_whole_values_are_double_quoted) {
  const std::vector<std::string> values{"abc #def", "&anchor x", "*star", "!tag", "'single",
                                        "\"dq\\", "a: b", "- item", "trail ", " lead", "%pct",
                                        "@at", "|pipe", "multi\nline"};
  for (const auto& value : values) {
    const auto r = substitute_env("pw: ${PW} # comment\nlist:\n  - ${PW}\n",
                                  [&](std::string_view) { return std::optional<std::string>(value); });
    ASSERT_TRUE(r) << value;
    EXPECT_EQ(r->text().rfind("pw: \"", 0), 0u) << r->text();
    // The span covers the quoted text so errors never quote the value.
    EXPECT_EQ(r->text()[r->spans()[0].output_begin], '"');
  }
}

TEST(env_subst_quoting, plain_safe_values_and_flow_lists_stay_raw) {
  const auto r = substitute_env(
      "a: ${SIMPLE}\nb: ${LIST}\nc: x${SIMPLE}\nd: \"${HASH}\"\ne: [${SIMPLE}]\nf: ${NUL}\n",
      [](std::string_view name) -> std::optional<std::string> {
        if (name == "SIMPLE") return "hunter2";
        if (name == "LIST") return "[\"k:1\", \"k:2\"]";
        if (name == "HASH") return "a #b";
        return "~";
      });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text(),
            "a: hunter2\nb: [\"k:1\", \"k:2\"]\nc: xhunter2\nd: \"a #b\"\ne: [hunter2]\nf: ~\n");
}

}  // namespace
}  // namespace kb::cli
