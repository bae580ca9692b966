#include "pipeline/backup/catalog.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.hpp"
#include "base/uuid.hpp"
#include "pipeline/backup/topic_selection.hpp"
#include "protocol/describe_configs.hpp"
#include "protocol/error_codes.hpp"
#include "storage/object_store.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines; the pairing is Asio's and
// correct, so the false positive is silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::backup {

namespace asio = boost::asio;
namespace sf = storage::format;

std::string_view to_string(run_mode m) noexcept {
  switch (m) {
    case run_mode::one_shot: return "one-shot";
    case run_mode::snapshot: return "snapshot";
    case run_mode::continuous: return "continuous";
  }
  return "one-shot";
}

result<sf::backup_manifest> merge_manifest(sf::backup_manifest fresh, const sf::backup_manifest& stored,
                                           std::set<std::string>& earlier) {
  fresh.created_ms = stored.created_ms;
  if (!stored.source_cluster_id.empty() && !fresh.source_cluster_id.empty() &&
      stored.source_cluster_id != fresh.source_cluster_id) {
    return fail(errc::conflict, fmt::format("backup '{}' was taken from cluster {} but the source is now cluster {}; "
                                            "use a new backup_id",
                                            fresh.backup_id, stored.source_cluster_id, fresh.source_cluster_id));
  }
  earlier.insert(stored.topics.begin(), stored.topics.end());
  return fresh;
}

void list_topics(sf::backup_manifest& m, const std::set<std::string>& earlier, const std::set<std::string>& followed) {
  std::set<std::string> listed = earlier;
  listed.insert(followed.begin(), followed.end());
  m.topics.assign(listed.begin(), listed.end());
  m.not_followed.clear();
  for (const auto& t : earlier)
    if (!followed.count(t)) m.not_followed.push_back(t);
}

std::string codec_name(sf::frame_codec c) {
  return c == sf::frame_codec::zstd ? "zstd" : c == sf::frame_codec::lz4 ? "lz4" : "none";
}

catalog::catalog(storage::object_store& store, const sf::backup_paths& paths, const options& opts,
                 std::string principal_hint)
    : store_(store), paths_(paths), opts_(opts), principal_hint_(std::move(principal_hint)) {}

asio::awaitable<result<void>> catalog::async_select(net::cluster& cluster) {
  std::vector<std::string> literals;
  for (const auto& inc : opts_.topics.include)
    if (is_literal(inc)) literals.push_back(inc);
  if (!literals.empty()) {
    auto r = co_await cluster.async_refresh_metadata(literals);
    if (!r) co_return fail(std::move(r.error()));
  }
  std::vector<topic_candidate> candidates;
  for (const auto& [name, info] : cluster.topics()) {
    if (info.error_code == static_cast<std::int16_t>(protocol::error_code::topic_authorization_failed)) {
      if (std::find(literals.begin(), literals.end(), name) != literals.end())
        co_return fail(net::topic_error(info.error_code, name, principal_hint_));
      continue;
    }
    if (info.error_code != 0) continue;
    candidates.push_back({name, info.is_internal});
  }
  auto sel = select_topics(candidates, opts_.topics);
  if (!sel) co_return fail(std::move(sel.error()));
  if (sel->empty() && opts_.mode != run_mode::continuous) {
    const auto& bootstrap = opts_.cluster.bootstrap_servers;
    co_return fail(errc::not_found, no_topic_matches_message(opts_.topics, principal_hint_,
                                                             bootstrap.empty() ? std::string_view() : bootstrap.front()));
  }
  topics_.insert(sel->begin(), sel->end());
  co_return result<void>{};
}

result<void> catalog::open(const std::optional<std::string>& reported_cluster_id, std::int64_t now_ms) {
  sf::backup_manifest fresh;
  fresh.backup_id = opts_.backup_id;
  fresh.tool_version = opts_.tool_version;
  fresh.mode = std::string(to_string(opts_.mode));
  fresh.compression = codec_name(opts_.codec);
  fresh.bootstrap_servers = opts_.cluster.bootstrap_servers;
  fresh.source_cluster_id = opts_.source_cluster_id.value_or(reported_cluster_id.value_or(""));
  fresh.created_ms = now_ms;
  manifest_ = fresh;
  // An unreadable backup.json is rewritten: the checkpoints, not the manifest, hold the data.
  if (auto old = store_.get(paths_.backup_manifest())) {
    if (auto stored = sf::parse_backup_manifest(as_text(*old))) {
      auto merged = merge_manifest(std::move(fresh), *stored, earlier_topics_);
      if (!merged) return fail(std::move(merged.error()));
      manifest_ = std::move(*merged);
      std::vector<std::string> dropped;
      for (const auto& t : earlier_topics_)
        if (!topics_.count(t)) dropped.push_back(t);
      if (!dropped.empty())
        log::info("backup '{}': {} topic(s) of earlier runs are no longer selected by source.topics and are not "
                  "fetched (their stored data stays): {}",
                  opts_.backup_id, dropped.size(), fmt::join(dropped, ", "));
    }
  }
  return write(now_ms);
}

result<void> catalog::write(std::int64_t now_ms) {
  manifest_.updated_ms = now_ms;
  list_topics(manifest_, earlier_topics_, topics_);
  return store_.put(paths_.backup_manifest(), as_bytes(sf::to_json(manifest_)));
}

result<void> catalog::save_groups(const group_capture& cap, std::int64_t now_ms) {
  result<void> first;
  if (cap.not_captured != manifest_.groups_not_captured) {
    manifest_.groups_not_captured = cap.not_captured;
    first = write(now_ms);
  }
  if (auto r = store_.put(paths_.group_snapshot(cap.snapshot.captured_ms), as_bytes(sf::to_json(cap.snapshot))); !r)
    return first ? r : first;
  if (cap.not_captured.empty()) {
    log::info("backup: consumer-group offsets of {} group(s) saved", cap.snapshot.groups.size());
  } else {
    log::info("backup: consumer-group offsets of {} group(s) saved; {} group(s) could not be read",
              cap.snapshot.groups.size(), cap.not_captured.size());
  }
  return first;
}

asio::awaitable<result<void>> catalog::async_write_topic(net::cluster& cluster, const std::string& name,
                                                         bool& warned) {
  const auto* info = cluster.find_topic(name);
  if (!info) co_return result<void>{};
  sf::topic_manifest tm;
  tm.name = name;
  tm.topic_id = uuid_text(info->topic_id.bytes);
  tm.partition_count = static_cast<std::int32_t>(info->partitions.size());
  tm.is_internal = info->is_internal;
  if (!info->partitions.empty())
    tm.replication_factor = static_cast<std::int16_t>(info->partitions.front().replicas.size());
  protocol::describe_configs_request req;
  req.resources.push_back({static_cast<std::int8_t>(protocol::config_resource_type::topic), name, std::nullopt});
  auto conn = co_await cluster.async_any_connection();
  std::optional<std::string> problem;
  if (conn) {
    auto resp = co_await (*conn)->async_request(req);
    if (!resp) {
      problem = resp.error().message;
    } else {
      for (const auto& res : resp->results) {
        if (res.error_code != 0) {
          problem = fmt::format("broker error {}", protocol::name(static_cast<protocol::error_code>(res.error_code)));
          continue;
        }
        for (const auto& c : res.configs) {
          // Only what was set on the topic (source 1 = DYNAMIC_TOPIC_CONFIG); never secrets.
          if (c.config_source != 1 || c.is_sensitive || !c.value) continue;
          tm.configs[c.name] = *c.value;
        }
      }
    }
  } else {
    problem = conn.error().message;
  }
  if (problem && !warned) {
    warned = true;
    log::warn("backup: cannot read topic configs with DescribeConfigs ({}); topic.json files will hold no configs — "
              "grant DescribeConfigs on the topics to record them",
              *problem);
    manifest_.notes.push_back(fmt::format("topic configs not captured: DescribeConfigs failed ({}); grant "
                                          "DescribeConfigs on the topics to record them",
                                          *problem));
  }
  co_return store_.put(paths_.topic_manifest(name), as_bytes(sf::to_json(tm)));
}

}  // namespace kb::pipeline::backup
