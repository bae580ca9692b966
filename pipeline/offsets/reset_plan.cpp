// The pure half of `kafka-backup reset-offsets` (see reset_plan.hpp).
#include "pipeline/offsets/reset_plan.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "protocol/error_codes.hpp"

namespace kb::pipeline::offsets {

std::string_view to_string(strategy s) noexcept {
  switch (s) {
    case strategy::to_earliest: return "to-earliest";
    case strategy::to_latest: return "to-latest";
    case strategy::to_timestamp: return "to-timestamp";
    case strategy::to_offset: return "to-offset";
  }
  return "to-earliest";
}

std::optional<strategy> parse_strategy(std::string_view text) noexcept {
  for (auto s : {strategy::to_earliest, strategy::to_latest, strategy::to_timestamp, strategy::to_offset})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

std::int64_t choose_offset(const reset_request& r, const partition_bounds& b) noexcept {
  switch (r.how) {
    case strategy::to_earliest: return b.earliest;
    case strategy::to_latest: return b.latest;
    case strategy::to_timestamp: return b.at_timestamp < 0 ? b.latest : std::clamp(b.at_timestamp, b.earliest, b.latest);
    case strategy::to_offset: return std::clamp(r.offset, b.earliest, std::max(b.earliest, b.latest));
  }
  return b.earliest;
}

result<void> check_group_idle(const protocol::describe_groups_response::group& g, std::string_view principal_hint) {
  using protocol::error_code;
  if (g.error_code == static_cast<std::int16_t>(error_code::group_authorization_failed)) {
    return fail(errc::authorization,
                fmt::format("Not authorized to access group '{}': resetting its offsets needs Describe and Read on "
                            "the group for {} (kafka-acls --add --allow-principal {} --operation Read --group {})",
                            g.group_id, principal_hint.empty() ? "the principal" : principal_hint,
                            principal_hint.empty() ? "User:NAME" : principal_hint, g.group_id));
  }
  if (g.error_code != 0) {
    return fail(errc::broker, fmt::format("DescribeGroups '{}': {}", g.group_id,
                                          protocol::name(static_cast<error_code>(g.error_code))));
  }
  if (g.group_state == "Empty" || g.group_state == "Dead") return {};
  std::string members;
  for (const auto& m : g.members) {
    if (!members.empty()) members += ", ";
    members += fmt::format("{} (client {}, host {})", m.member_id, m.client_id, m.client_host);
  }
  return fail(errc::conflict,
              fmt::format("consumer group '{}' is {} with {} member(s): {}; offsets can only be reset when the group "
                          "is inactive (Empty): stop its consumers and run again",
                          g.group_id, g.group_state, g.members.size(), members.empty() ? "none listed" : members));
}

std::string report_text(const reset_report& r) {
  std::size_t gw = 5, tw = 5;
  for (const auto& x : r.rows) {
    gw = std::max(gw, x.group.size());
    tw = std::max(tw, x.topic.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:>9}  {:>12}    {:>12}\n", "GROUP", gw, "TOPIC", tw, "PARTITION",
                                "OLD OFFSET", "NEW OFFSET");
  for (const auto& x : r.rows) {
    out += fmt::format("{:<{}}  {:<{}}  {:>9}  {:>12} -> {:>12}\n", x.group, gw, x.topic, tw, x.partition,
                       x.old_offset < 0 ? std::string("-") : std::to_string(x.old_offset), x.new_offset);
  }
  out += fmt::format("{}: {} partition{} of {} group{} {} ({})\n", r.dry_run ? "Dry run" : "Reset", r.rows.size(),
                     r.rows.size() == 1 ? "" : "s", r.groups.size(), r.groups.size() == 1 ? "" : "s",
                     r.dry_run ? "would be reset, nothing committed" : "committed", to_string(r.how));
  return out;
}

std::string report_json(const reset_report& r) {
  boost::json::object o;
  o["strategy"] = to_string(r.how);
  o["dry_run"] = r.dry_run;
  boost::json::array groups;
  for (const auto& g : r.groups) groups.emplace_back(g);
  o["groups"] = std::move(groups);
  boost::json::array rows;
  for (const auto& x : r.rows) {
    boost::json::object row;
    row["group"] = x.group;
    row["topic"] = x.topic;
    row["partition"] = x.partition;
    if (x.old_offset < 0) {
      row["old_offset"] = nullptr;
    } else {
      row["old_offset"] = x.old_offset;
    }
    row["new_offset"] = x.new_offset;
    rows.emplace_back(std::move(row));
  }
  o["partitions"] = std::move(rows);
  return boost::json::serialize(o) + "\n";
}

}  // namespace kb::pipeline::offsets
