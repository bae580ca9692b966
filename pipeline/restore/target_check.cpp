// Target checks before a restore writes anything (Metadata, validate-only CreateTopics,
// FindCoordinator, DescribeGroups): nothing here creates or produces.
#include "pipeline/restore/target_check.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "protocol/describe_groups.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/metadata.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines (as in backup_job.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::restore {

namespace asio = boost::asio;
using protocol::error_code;

namespace {

constexpr std::int32_t acl_read = 3;
constexpr std::int32_t acl_write = 4;
constexpr std::int32_t acl_describe = 8;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

asio::awaitable<void> async_sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

std::string kafka_error(std::int16_t code, const std::optional<std::string>& message) {
  std::string out(protocol::name(static_cast<error_code>(code)));
  if (message && !message->empty()) out += ": " + *message;
  return out;
}

bool creatable_config(const std::string& name) {
  static const std::set<std::string> refused = {"message.format.version", "message.downconversion.enable",
                                                "message.timestamp.difference.max.ms"};
  return !refused.contains(name);
}

// Write and Describe on a topic the restore will create (Create itself is checked by a
// validate-only CreateTopics): a principal with Create but no Write would create it, then fail.
kb::result<void> check_created_topic_ops(const std::string& topic, std::int32_t ops) {
  if (ops == protocol::authorized_operations_unknown || ops < 0) return {};
  if ((ops & (1 << acl_write)) && (ops & (1 << acl_describe))) return {};
  return fail(errc::authorization,
              fmt::format("Not authorized to access topic '{}': the restore would create it but lacks {} on it "
                          "(kafka-acls --add --operation Write --operation Describe --topic {})",
                          topic, (ops & (1 << acl_write)) ? "Describe" : "Write", topic));
}

// OffsetCommit checks Read on each topic as well as on the group (KafkaApis.handleOffsetCommitRequest).
kb::result<void> check_commit_read(const std::vector<planned_group_offset>& offsets,
                                   const std::map<std::string, std::int32_t>& ops) {
  for (const auto& g : offsets) {
    auto it = ops.find(g.target_topic);
    if (it == ops.end() || it->second == protocol::authorized_operations_unknown || it->second < 0) continue;
    if (!(it->second & (1 << acl_read))) {
      return fail(errc::authorization,
                  fmt::format("Not authorized to access topic '{}': committing the offsets of group '{}' needs Read "
                              "on the topic as well as on the group (kafka-acls --add --operation Read --topic {})",
                              g.target_topic, g.group, g.target_topic));
    }
  }
  return {};
}

// One target topic in the metadata answer: authorization, existence, partition counts. A
// missing topic to create comes back as its CreateTopics entry.
kb::result<std::optional<protocol::create_topics_request::topic>> target_check::check_topic(
    const planned_topic& t, const protocol::metadata_response::topic& md) {
  if (md.error_code == static_cast<std::int16_t>(error_code::topic_authorization_failed)) {
    return fail(errc::authorization,
                fmt::format("Not authorized to access topic '{}': the restore principal needs Describe, Write "
                            "and Create on topic '{}' (kafka-acls --add --operation Describe --operation Write "
                            "--operation Create --topic {})",
                            t.target, t.target, t.target));
  }
  if (md.error_code == static_cast<std::int16_t>(error_code::unknown_topic_or_partition)) {
    if (!o_.create_topics) {
      return fail(errc::not_found, fmt::format("target topic '{}' does not exist: create it with {} partitions "
                                               "or set restore.create_topics: true",
                                               t.target, t.target_partitions));
    }
    if (auto widened = mapping_widens_created_topic(plan_, t)) return fail(errc::config, std::move(*widened));
    // Kafka answers an unknown topic's authorized operations too: the permissions the
    // run will need on the topic it creates are checked before anything is created.
    if (auto r = check_created_topic_ops(t.target, md.topic_authorized_operations); !r) return fail(std::move(r.error()));
    facts_.topic_ops[t.target] = md.topic_authorized_operations;
    facts_.status[t.target] = target_topic_status{false, {}};
    protocol::create_topics_request::topic ct;
    ct.name = t.target;
    ct.num_partitions = t.target_partitions;
    ct.replication_factor = o_.replication_factor.value_or(-1);
    for (const auto& [k, v] : t.manifest.configs)
      if (creatable_config(k)) ct.configs.push_back({k, v});
    return std::optional<protocol::create_topics_request::topic>(std::move(ct));
  }
  if (md.error_code != 0) {
    return fail(errc::broker, fmt::format("target topic '{}': {}", t.target, kafka_error(md.error_code, {})));
  }
  const auto ops = md.topic_authorized_operations;
  if (ops != protocol::authorized_operations_unknown && ops >= 0 &&
      (!(ops & (1 << acl_write)) || !(ops & (1 << acl_describe)))) {
    return fail(errc::authorization,
                fmt::format("Not authorized to access topic '{}': the restore principal lacks {} on it "
                            "(kafka-acls --add --operation Write --operation Describe --topic {})",
                            t.target, (ops & (1 << acl_write)) ? "Describe" : "Write", t.target));
  }
  const auto have = static_cast<std::int32_t>(md.partitions.size());
  std::int32_t need = t.target_partitions;
  if (!t.repartition) {
    need = 0;
    for (const auto& p : plan_.partitions)
      if (p.source_topic == t.source) need = std::max(need, p.target_partition + 1);
  }
  if (have < need) {
    return fail(errc::config,
                fmt::format("target topic '{}' has {} partitions but the restore writes to partition {}: add "
                            "partitions, use restore.partition_mapping, or restore into a new topic",
                            t.target, have, need - 1));
  }
  facts_.existing.insert(t.target);
  facts_.topic_ops[t.target] = ops;
  facts_.status[t.target] = target_topic_status{true, topic_id_hex(md.topic_id)};
  return std::optional<protocol::create_topics_request::topic>();
}

// Authorization and config check of the creations, without creating anything; configs this
// broker refuses are dropped from `missing` with a warning.
asio::awaitable<kb::result<void>> target_check::async_validate_creations(
    std::vector<protocol::create_topics_request::topic>& missing) {
  protocol::create_topics_request req;
  req.topics = missing;
  req.validate_only = true;
  req.timeout_ms = 30000;
  auto v = co_await cluster_.async_send(cluster_.controller_id() >= 0 && cluster_.brokers().contains(cluster_.controller_id())
                                             ? cluster_.controller_id()
                                             : any_node(),
                                         req);
  if (!v) co_return fail(std::move(v.error()));
  for (const auto& t : v->topics) {
    if (t.error_code == 0) continue;
    const auto code = static_cast<error_code>(t.error_code);
    if (code == error_code::topic_authorization_failed || code == error_code::cluster_authorization_failed) {
      co_return fail(errc::authorization,
                     fmt::format("Not authorized to access topic '{}': creating it needs Create on the topic or the "
                                 "cluster (kafka-acls --add --operation Create --topic {}), or create it beforehand "
                                 "and set restore.create_topics: false",
                                 t.name, t.name));
    }
    if (code == error_code::invalid_config || code == error_code::policy_violation) {
      // Source configs this broker refuses: create without them and say so.
      for (auto& m : missing) {
        if (m.name != t.name) continue;
        facts_.warnings.push_back(fmt::format("target topic '{}' will be created without the source's configs: {}",
                                                t.name, kafka_error(t.error_code, t.error_message)));
        m.configs.clear();
      }
      continue;
    }
    if (code == error_code::topic_already_exists) continue;
    co_return fail(errc::broker, fmt::format("cannot create target topic '{}': {}", t.name,
                                             kafka_error(t.error_code, t.error_message)));
  }
  co_return kb::result<void>{};
}

// A created topic whose retention.ms is shorter than the age of the restored records: warned.
void target_check::warn_short_retention() {
  for (const auto& m : facts_.to_create) {
    facts_.created_topics.push_back(m.name);
    for (const auto& c : m.configs) {
      if (c.name != "retention.ms" || !c.value) continue;
      std::int64_t retention = -1;
      try {
        retention = std::stoll(*c.value);
      } catch (const std::exception&) {
      }
      std::int64_t oldest = -1;
      for (const auto& p : plan_.partitions)
        if (p.target_topic == m.name && p.min_timestamp >= 0 && (oldest < 0 || p.min_timestamp < oldest)) oldest = p.min_timestamp;
      if (retention > 0 && oldest >= 0 && oldest < now_ms() - retention) {
        facts_.warnings.push_back(fmt::format("target topic '{}' keeps data {} ms (retention.ms) but restored records "
                                                "date from {}: the broker may delete them soon; raise retention.ms",
                                                m.name, retention, oldest));
      }
    }
  }
}

asio::awaitable<kb::result<void>> target_check::async_check_target() {
  protocol::metadata_request md;
  md.topics.emplace();
  for (const auto& t : plan_.topics) md.topics->push_back({{}, t.target});
  md.allow_auto_topic_creation = false;
  md.include_topic_authorized_operations = true;
  auto resp = co_await cluster_.async_send(any_node(), md);
  if (!resp) co_return fail(std::move(resp.error()));
  std::vector<protocol::create_topics_request::topic> missing;
  for (const auto& t : plan_.topics) {
    auto it = std::find_if(resp->topics.begin(), resp->topics.end(),
                           [&](const auto& x) { return x.name && *x.name == t.target; });
    if (it == resp->topics.end()) co_return fail(errc::protocol, "metadata response lacks topic " + t.target);
    auto created = check_topic(t, *it);
    if (!created) co_return fail(std::move(created.error()));
    if (*created) missing.push_back(std::move(**created));
  }
  if (missing.empty()) co_return kb::result<void>{};
  if (auto r = co_await async_validate_creations(missing); !r) co_return r;
  facts_.to_create = std::move(missing);
  warn_short_retention();
  co_return kb::result<void>{};
}

asio::awaitable<kb::result<std::int32_t>> target_check::async_coordinator(const std::string& group) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    protocol::find_coordinator_request fc;
    fc.key_value = group;
    fc.key_type = 0;
    fc.coordinator_keys = {group};
    auto r = co_await cluster_.async_send(any_node(), fc);
    if (!r) co_return fail(std::move(r.error()));
    std::int16_t code = r->error_code;
    std::int32_t node = r->node_id;
    std::optional<std::string> msg = r->error_message;
    if (!r->coordinators.empty()) {
      code = r->coordinators[0].error_code;
      node = r->coordinators[0].node_id;
      msg = r->coordinators[0].error_message;
    }
    if (code == static_cast<std::int16_t>(error_code::group_authorization_failed)) {
      co_return fail(errc::authorization,
                     fmt::format("Not authorized to access group '{}': the restore principal needs Read on group '{}' "
                                 "(kafka-acls --add --operation Read --group {})",
                                 group, group, group));
    }
    if (code == 0) {
      if (!cluster_.brokers().contains(node)) (void)co_await cluster_.async_refresh_metadata(std::vector<std::string>{});
      co_return node;
    }
    if (protocol::classify(code) == protocol::error_class::fatal) {
      co_return fail(errc::broker, fmt::format("FindCoordinator for group '{}': {}", group, kafka_error(code, msg)));
    }
    co_await async_sleep(std::chrono::milliseconds(200 * (attempt + 1)));
  }
  co_return fail(errc::timeout, fmt::format("no coordinator found for group '{}' after 10 attempts", group));
}

asio::awaitable<kb::result<std::map<std::string, std::int32_t>>> target_check::async_topic_ops(std::vector<std::string> names) {
  protocol::metadata_request md;
  md.topics.emplace();
  for (const auto& n : names) md.topics->push_back({{}, n});
  md.allow_auto_topic_creation = false;
  md.include_topic_authorized_operations = true;
  auto resp = co_await cluster_.async_send(any_node(), md);
  if (!resp) co_return fail(std::move(resp.error()));
  std::map<std::string, std::int32_t> out;
  for (const auto& t : resp->topics)
    if (t.name && t.error_code == 0) out[*t.name] = t.topic_authorized_operations;
  co_return out;
}

asio::awaitable<kb::result<void>> target_check::async_check_groups() {
  if (!o_.reset_consumer_offsets) co_return kb::result<void>{};
  if (auto r = check_commit_read(facts_.topic_ops); !r) co_return r;
  std::set<std::string> groups;
  for (const auto& g : plan_.group_offsets) groups.insert(g.group);
  for (const auto& g : groups) {
    auto node = co_await async_coordinator(g);
    if (!node) co_return fail(std::move(node.error()));
    protocol::describe_groups_request dg;
    dg.groups = {g};
    auto r = co_await cluster_.async_send(*node, dg);
    if (!r) co_return fail(std::move(r.error()));
    for (const auto& d : r->groups) {
      if (d.error_code == static_cast<std::int16_t>(error_code::group_authorization_failed)) {
        co_return fail(errc::authorization,
                       fmt::format("Not authorized to access group '{}': the restore principal needs Read on group "
                                   "'{}' (kafka-acls --add --operation Read --group {})",
                                   g, g, g));
      }
      if (d.error_code != 0) {
        co_return fail(errc::broker, fmt::format("DescribeGroups '{}': {}", g, kafka_error(d.error_code, {})));
      }
      if (!d.members.empty()) {
        co_return fail(errc::conflict,
                       fmt::format("consumer group '{}' has {} active member(s) (state {}) in the target cluster: "
                                   "its offsets cannot be reset while consumers run; stop them (or remove '{}' from "
                                   "restore.consumer_groups) and re-run",
                                   g, d.members.size(), d.group_state, g));
      }
    }
    facts_.coordinators[g] = *node;
  }
  co_return kb::result<void>{};
}

}  // namespace kb::pipeline::restore
