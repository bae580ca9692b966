// `kafka-backup reset-offsets` against a cluster (see reset_offsets.hpp).
#include "pipeline/offsets/reset_offsets.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "pipeline/backup/topic_selection.hpp"
#include "pipeline/exception_error.hpp"
#include "pipeline/kafka_admin.hpp"
#include "pipeline/restore/group_commit.hpp"
#include "protocol/describe_groups.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/offset_fetch.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator as a mismatched new/delete in large
// coroutines (as in pipeline/restore/group_commit.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::offsets {
namespace {

namespace asio = boost::asio;
using net::topic_partition;
using committed_map = std::map<topic_partition, std::int64_t>;

/// The partitions of the topics `patterns` select (all partitions of each matched topic).
/// Internal topics only when named literally; a literal name that is not there is an error.
result<std::vector<topic_partition>> select_partitions(const net::cluster& c, const std::vector<std::string>& patterns,
                                                       std::string_view principal) {
  std::set<std::string> names;
  for (const auto& p : patterns) {
    if (backup::is_literal(p)) {
      if (c.find_topic(p) == nullptr) {
        return fail(errc::not_found,
                    fmt::format("reset_offsets.topics: topic '{}' does not exist (or {} may not Describe it: "
                                "kafka-acls --add --operation Describe --topic {})",
                                p, principal.empty() ? "the principal" : principal, p));
      }
      names.insert(p);
      continue;
    }
    for (const auto& [name, info] : c.topics()) {
      if (backup::is_internal_topic({name, info.is_internal})) continue;
      auto m = backup::pattern_matches(p, name);
      if (!m) return fail(std::move(m.error()));
      if (*m) names.insert(name);
    }
  }
  if (names.empty()) {
    return fail(errc::not_found, "reset_offsets.topics: no topic matches the patterns given (a topic the principal "
                                 "may not Describe is not listed)");
  }
  std::vector<topic_partition> out;
  for (const auto& n : names)
    for (const auto& p : c.find_topic(n)->partitions) out.push_back({n, p.partition});
  return out;
}

class resetter {
 public:
  resetter(const net::cluster_options& o, const reset_request& r) : opts_(o), req_(r) {}

  result<reset_report> run() {
    std::optional<result<void>> outcome;
    asio::co_spawn(io_, async_main(), [&](const std::exception_ptr& e, result<void> r) {
      outcome = e ? result<void>(fail(error_from_exception(e, "reset-offsets"))) : std::move(r);
      if (cluster_) cluster_->close();
    });
    io_.run();
    if (!outcome) return fail(errc::internal, "reset-offsets stopped without a result");
    if (!*outcome) return fail(std::move(outcome->error()));
    return std::move(report_);
  }

 private:
  asio::awaitable<result<void>> async_main() {
    cluster_ = net::cluster::create(io_.get_executor(), opts_);
    if (auto r = co_await cluster_->async_bootstrap(); !r) co_return fail(std::move(r.error()));
    principal_ = principal_hint(opts_.connection);
    kafka_admin admin(*cluster_, admin_retry{}, principal_);
    report_.how = req_.how;
    report_.dry_run = req_.dry_run;
    report_.groups = req_.groups;

    // Every group is checked (idle, readable) before anything is committed.
    std::map<std::string, std::int32_t> coordinators;
    std::map<std::string, committed_map> committed;
    for (const auto& g : req_.groups) {
      auto node = co_await admin.async_find_coordinator(g);
      if (!node) co_return fail(std::move(node.error()));
      coordinators[g] = *node;
      if (auto ok = co_await async_check_idle(*node, g); !ok) co_return ok;
      auto c = co_await async_committed(*node, g);
      if (!c) co_return fail(std::move(c.error()));
      committed[g] = std::move(*c);
    }
    // Topics after groups: a principal without group ACLs hears about the group first.
    std::optional<std::vector<topic_partition>> selected;
    if (!req_.topics.empty()) {
      auto s = select_partitions(*cluster_, req_.topics, principal_);
      if (!s) co_return fail(std::move(s.error()));
      selected = std::move(*s);
    }
    // The partitions of each group, and their bounds (one ListOffsets round per kind).
    std::map<std::string, std::vector<topic_partition>> parts;
    std::set<topic_partition> all;
    for (const auto& g : req_.groups) {
      if (selected) {
        parts[g] = *selected;
      } else {
        for (const auto& [tp, off] : committed[g])
          if (cluster_->find_topic(tp.topic) != nullptr) parts[g].push_back(tp);
      }
      all.insert(parts[g].begin(), parts[g].end());
    }
    std::vector<topic_partition> tps(all.begin(), all.end());
    std::map<topic_partition, partition_bounds> bounds;
    if (!tps.empty()) {
      auto earliest = co_await admin.async_list_offsets(tps, protocol::earliest_timestamp);
      if (!earliest) co_return fail(std::move(earliest.error()));
      auto latest = co_await admin.async_list_offsets(tps, protocol::latest_timestamp);
      if (!latest) co_return fail(std::move(latest.error()));
      offset_map at;
      if (req_.how == strategy::to_timestamp) {
        auto t = co_await admin.async_list_offsets(tps, req_.timestamp_ms);
        if (!t) co_return fail(std::move(t.error()));
        at = std::move(*t);
      }
      for (const auto& tp : tps) {
        partition_bounds b;
        b.earliest = (*earliest)[tp];
        b.latest = (*latest)[tp];
        if (auto it = at.find(tp); it != at.end()) b.at_timestamp = it->second;
        bounds[tp] = b;
      }
    }
    for (const auto& g : req_.groups) {
      protocol::offset_commit_request commit;
      commit.group_id = g;
      commit.generation_id_or_member_epoch = -1;
      for (const auto& tp : parts[g]) {
        reset_row row{g, tp.topic, tp.partition, -1, choose_offset(req_, bounds[tp])};
        if (auto it = committed[g].find(tp); it != committed[g].end()) row.old_offset = it->second;
        if (commit.topics.empty() || commit.topics.back().name != tp.topic) commit.topics.push_back({tp.topic, {}});
        commit.topics.back().partitions.push_back({tp.partition, row.new_offset, -1, std::nullopt});
        report_.rows.push_back(std::move(row));
      }
      if (req_.dry_run || commit.topics.empty()) continue;
      if (auto ok = co_await async_commit(admin, coordinators[g], g, commit); !ok) co_return ok;
      kb::log::info("reset-offsets: group {}: {} partition(s) committed ({})", g, parts[g].size(), to_string(req_.how));
    }
    co_return result<void>{};
  }

  asio::awaitable<result<void>> async_check_idle(std::int32_t node, const std::string& g) {
    protocol::describe_groups_request dg;
    dg.groups = {g};
    auto r = co_await cluster_->async_send(node, dg);
    if (!r) co_return fail(std::move(r.error()));
    for (const auto& d : r->groups)
      if (auto ok = check_group_idle(d, principal_); !ok) co_return ok;
    co_return result<void>{};
  }

  asio::awaitable<result<committed_map>> async_committed(std::int32_t node, const std::string& g) {
    protocol::offset_fetch_request of;
    of.group_id = g;
    protocol::offset_fetch_request::group one;
    one.group_id = g;
    of.groups.push_back(one);
    auto r = co_await cluster_->async_send(node, of);
    if (!r) co_return fail(std::move(r.error()));
    const auto code = r->groups.empty() ? r->error_code : r->groups.front().error_code;
    if (code != 0) co_return fail(net::group_error(code, g, principal_));
    committed_map out;
    const auto& topics = r->groups.empty() ? r->topics : r->groups.front().topics;
    for (const auto& t : topics)
      for (const auto& p : t.partitions)
        if (p.error_code == 0 && p.committed_offset >= 0) out[{t.name, p.partition_index}] = p.committed_offset;
    co_return out;
  }

  asio::awaitable<result<void>> async_commit(kafka_admin& admin, std::int32_t node, const std::string& g,
                                             const protocol::offset_commit_request& commit) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto r = co_await cluster_->async_send(node, commit);
      if (!r) co_return fail(std::move(r.error()));
      auto answer = restore::judge_commit(g, *r);
      if (!answer) co_return fail(std::move(answer.error()));
      if (!answer->retry) co_return result<void>{};
      // The coordinator moved or is loading: ask again after a back-off.
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(250 * (attempt + 1)));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      auto again = co_await admin.async_find_coordinator(g);
      if (!again) co_return fail(std::move(again.error()));
      node = *again;
    }
    co_return fail(errc::timeout, fmt::format("could not commit the offsets of group '{}' after 8 attempts", g));
  }

  asio::io_context io_;
  net::cluster_options opts_;
  reset_request req_;
  std::shared_ptr<net::cluster> cluster_;
  std::string principal_;
  reset_report report_;
};

}  // namespace

result<reset_report> run_reset(const net::cluster_options& cluster, const reset_request& request) {
  if (request.groups.empty()) return fail(errc::config, "reset_offsets.groups: name at least one consumer group");
  return resetter(cluster, request).run();
}

}  // namespace kb::pipeline::offsets
