// Consumer-group offset commits after a restore (see group_commit.hpp).
#include "pipeline/restore/group_commit.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "pipeline/restore/target_check.hpp"
#include "protocol/error_codes.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines (as in target_check.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::restore {

using protocol::error_code;

group_commit_plan plan_group_commit(const std::string& group, const std::vector<const planned_group_offset*>& offsets,
                                    const std::vector<partition_state>& partitions) {
  group_commit_plan out;
  auto& req = out.request;
  req.group_id = group;
  req.generation_id_or_member_epoch = -1;
  for (const auto* g : offsets) {
    if (!g->translatable) {
      out.notes.push_back(fmt::format("{}[{}]: not translated: topic '{}' is repartitioned, so source offsets have no "
                                      "single target position",
                                      g->source.topic, g->source.partition, g->target_topic));
      continue;
    }
    const partition_state* s = nullptr;
    for (const auto& p : partitions)
      if (p.source_topic == g->source.topic && p.source_partition == g->source.partition) s = &p;
    if (s == nullptr) continue;
    auto target = s->map.translate(g->source.offset);
    if (!target) {
      // Nothing restored from this partition: the group starts where the restore left the target.
      if (s->target_end < 0) {
        out.notes.push_back(fmt::format("{}[{}]: no records restored and no target position known; not committed",
                                        g->source.topic, g->source.partition));
        continue;
      }
      target = s->target_end;
    }
    auto t = std::find_if(req.topics.begin(), req.topics.end(), [&](const auto& x) { return x.name == g->target_topic; });
    if (t == req.topics.end()) {
      req.topics.push_back({g->target_topic, {}});
      t = req.topics.end() - 1;
    }
    t->partitions.push_back({g->target_partition, *target, -1, g->source.metadata});
    kb::log::info("group {}: {}[{}] offset {} -> {}[{}] offset {}", group, g->source.topic, g->source.partition,
                  g->source.offset, g->target_topic, g->target_partition, *target);
  }
  return out;
}

kb::result<commit_answer> judge_commit(const std::string& group, const protocol::offset_commit_response& response) {
  commit_answer out;
  for (const auto& t : response.topics) {
    for (const auto& p : t.partitions) {
      if (p.error_code == 0) {
        ++out.committed;
        continue;
      }
      const auto code = static_cast<error_code>(p.error_code);
      if (code == error_code::group_authorization_failed) {
        return fail(errc::authorization, fmt::format("Not authorized to access group '{}': committing offsets needs "
                                                     "Read on group '{}' (kafka-acls --add --operation Read --group {})",
                                                     group, group, group));
      }
      if (code == error_code::topic_authorization_failed) {
        return fail(errc::authorization,
                    fmt::format("Not authorized to access topic '{}': committing the offsets of group '{}' needs Read "
                                "on the topic as well as on the group (kafka-acls --add --operation Read --topic {})",
                                t.name, group, t.name));
      }
      if (code == error_code::unknown_member_id || code == error_code::illegal_generation ||
          code == error_code::rebalance_in_progress) {
        return fail(errc::conflict, fmt::format("consumer group '{}' became active during the restore ({}): stop its "
                                                "consumers and re-run the restore to commit its offsets",
                                                group, kafka_error(p.error_code, {})));
      }
      if (protocol::classify(p.error_code) == protocol::error_class::fatal) {
        return fail(errc::broker, fmt::format("OffsetCommit for group '{}' on {}[{}]: {}", group, t.name,
                                              p.partition_index, kafka_error(p.error_code, {})));
      }
      out.retry = p.error_code;
    }
  }
  return out;
}

boost::asio::awaitable<kb::result<std::vector<group_summary>>> async_commit_groups(
    net::cluster& cluster, const std::vector<planned_group_offset>& offsets,
    const std::vector<partition_state>& partitions, std::map<std::string, std::int32_t>& coordinators,
    coordinator_lookup find_coordinator) {
  std::vector<group_summary> out;
  std::map<std::string, std::vector<const planned_group_offset*>> by_group;
  for (const auto& g : offsets) by_group[g.group].push_back(&g);
  for (const auto& [group, mine] : by_group) {
    auto plan = plan_group_commit(group, mine, partitions);
    group_summary gs{group, 0, std::move(plan.notes)};
    if (plan.request.topics.empty()) {
      out.push_back(std::move(gs));
      continue;
    }
    bool committed = false;
    for (int attempt = 0; attempt < 8 && !committed; ++attempt) {
      auto node = coordinators.contains(group) ? kb::result<std::int32_t>(coordinators[group])
                                               : co_await find_coordinator(group);
      if (!node) co_return fail(std::move(node.error()));
      auto r = co_await cluster.async_send(*node, plan.request);
      if (!r) co_return fail(std::move(r.error()));
      auto answer = judge_commit(group, *r);
      if (!answer) co_return fail(std::move(answer.error()));
      if (!answer->retry) {
        committed = true;
        gs.partitions_committed = answer->committed;
      } else {
        coordinators.erase(group);
        boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                    std::chrono::milliseconds(250 * (attempt + 1)));
        boost::system::error_code ec;
        co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      }
    }
    if (!committed) co_return fail(errc::timeout, fmt::format("could not commit offsets of group '{}' after 8 attempts", group));
    out.push_back(std::move(gs));
  }
  co_return out;
}

}  // namespace kb::pipeline::restore
