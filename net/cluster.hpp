// The cluster view: bootstrap from a server list, a Metadata cache (brokers, topics, partition
// leaders and epochs), leader lookup and grouping of partitions by leader, one connection per
// broker with reconnect back-off, and the retry policy for stale-metadata errors.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "net/connection.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/metadata.hpp"

namespace kb::net {

struct topic_partition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const topic_partition&) const = default;
};

struct broker_address {
  std::int32_t node_id = -1;
  std::string host;
  std::uint16_t port = 0;
  std::optional<std::string> rack;
};

struct partition_info {
  std::int32_t partition = 0;
  std::int32_t leader_id = -1;  ///< -1 while no leader is elected
  std::int32_t leader_epoch = -1;
  std::int16_t error_code = 0;
  std::vector<std::int32_t> replicas;
  std::vector<std::int32_t> isr;
};

struct topic_info {
  std::string name;
  protocol::uuid topic_id;
  bool is_internal = false;
  std::int16_t error_code = 0;
  std::vector<partition_info> partitions;  ///< sorted by partition
};

struct cluster_options {
  std::vector<std::string> bootstrap_servers;  ///< "host:port" ("[v6]:port" for IPv6 literals)
  connection_options connection;               ///< shared by every broker connection
  std::chrono::milliseconds retry_backoff{100};       ///< first back-off (librdkafka retry.backoff.ms)
  std::chrono::milliseconds retry_backoff_max{10'000}; ///< cap (retry.backoff.max.ms)
  int max_attempts = 8;  ///< per operation: connects, metadata refreshes, retried requests
  /// Connections kept per broker (config `connections_per_broker`); async_send spreads its
  /// requests over them round-robin (or sends on the slot it is given), opening each on first
  /// use. Metadata and admin calls use one. A broker handles one request per connection at a
  /// time, so more connections let it work on several.
  std::uint32_t connections_per_broker = 1;
};

/// Splits "host:port" / "[v6]:port"; errc::config naming the entry otherwise.
[[nodiscard]] result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view server);

/// Exponential back-off with ±20% jitter (as librdkafka): base * 2^attempt capped at `max`.
[[nodiscard]] std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                                      std::chrono::milliseconds max, std::mt19937_64& rng);

/// True for broker errors that mean our metadata is stale (NOT_LEADER_OR_FOLLOWER,
/// UNKNOWN_TOPIC_OR_PARTITION, FENCED/UNKNOWN_LEADER_EPOCH, LEADER_NOT_AVAILABLE, …):
/// refresh metadata and retry. Uses protocol::classify, the one classification.
[[nodiscard]] bool needs_metadata_refresh(std::int16_t error_code) noexcept;

/// A broker error code on `topic` as a kb::error: TOPIC_AUTHORIZATION_FAILED becomes
/// errc::authorization "Not authorized to access topic '<t>' …", others errc::broker.
[[nodiscard]] error topic_error(std::int16_t error_code, std::string_view topic, std::string_view principal_hint);
/// Same for a consumer group: GROUP_AUTHORIZATION_FAILED becomes errc::authorization
/// "Not authorized to access group '<g>' …".
[[nodiscard]] error group_error(std::int16_t error_code, std::string_view group, std::string_view principal_hint);
/// Same for cluster-level calls: CLUSTER_AUTHORIZATION_FAILED becomes errc::authorization
/// "Not authorized to access cluster: …" naming `operation` (e.g. "Describe").
[[nodiscard]] error cluster_error(std::int16_t error_code, std::string_view operation, std::string_view principal_hint);

/// Threading as for connection: one executor, no concurrent handlers. Held by shared_ptr.
class cluster : public std::enable_shared_from_this<cluster> {
 public:
  [[nodiscard]] static std::shared_ptr<cluster> create(boost::asio::any_io_executor executor, cluster_options opts);
  ~cluster();
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// Connects to the first reachable bootstrap server (in order, each tried once per round,
  /// with back-off between rounds) and loads metadata for all topics. TLS and SASL errors stop
  /// at once (retrying cannot fix credentials); connect errors name every server tried. A
  /// signal (kb::interrupt) ends it within ~100 ms with errc::cancelled.
  [[nodiscard]] boost::asio::awaitable<result<void>> async_bootstrap();

  /// Reloads metadata: all topics (nullopt) or the named ones (merged into the cache).
  [[nodiscard]] boost::asio::awaitable<result<void>> async_refresh_metadata(
      std::optional<std::vector<std::string>> topics = std::nullopt);

  /// A ready connection to `node_id`, reusing the open one or connecting (with back-off on
  /// connect failures, up to max_attempts, all within the connection's request_timeout).
  /// errc::not_found for a node not in the metadata.
  [[nodiscard]] boost::asio::awaitable<result<std::shared_ptr<connection>>> async_connection(std::int32_t node_id);
  /// Same, giving up once `deadline` has passed or after `attempts` connects (<= 0: max_attempts);
  /// at least one connect is tried, with a connect timeout of at least 1 s.
  [[nodiscard]] boost::asio::awaitable<result<std::shared_ptr<connection>>> async_connection(
      std::int32_t node_id, std::chrono::steady_clock::time_point deadline, int attempts = 0, std::uint32_t slot = 0);
  /// Any ready connection (the least recently failed broker), for metadata and admin calls.
  [[nodiscard]] boost::asio::awaitable<result<std::shared_ptr<connection>>> async_any_connection();

  /// Sends `req` to `node_id`; on a lost connection (errc::connect) reconnects with back-off
  /// and resends, up to max_attempts. The whole call, reconnects included, ends within the
  /// connection's request_timeout: a dead broker gives errc::connect (or errc::timeout) naming
  /// the node, and the caller refreshes metadata and re-routes. Broker error codes inside the
  /// response are the caller's.
  /// `slot` pins the request to one of the broker's connections (taken modulo
  /// connections_per_broker): requests that must stay in order, like one partition's idempotent
  /// produce batches, go on the same slot. Without it the slots take turns.
  template <class Request>
  [[nodiscard]] boost::asio::awaitable<result<typename Request::response_type>> async_send(
      std::int32_t node_id, Request req, std::optional<std::uint32_t> slot = std::nullopt);

  /// The leader of a partition from the cache. errc::not_found for an unknown topic/partition,
  /// errc::broker (retriable) while the leader is -1.
  [[nodiscard]] result<std::int32_t> leader(const topic_partition& tp) const;
  /// Partitions grouped by current leader; those without a known leader go to `unassigned`.
  [[nodiscard]] std::map<std::int32_t, std::vector<topic_partition>> group_by_leader(
      std::span<const topic_partition> partitions, std::vector<topic_partition>* unassigned = nullptr) const;

  [[nodiscard]] const std::map<std::string, topic_info>& topics() const noexcept { return topics_; }
  [[nodiscard]] const std::map<std::int32_t, broker_address>& brokers() const noexcept { return brokers_; }
  [[nodiscard]] const std::optional<std::string>& cluster_id() const noexcept { return cluster_id_; }
  [[nodiscard]] std::int32_t controller_id() const noexcept { return controller_id_; }
  [[nodiscard]] const topic_info* find_topic(std::string_view name) const;
  [[nodiscard]] const cluster_options& options() const noexcept { return opts_; }

  /// Closes every connection.
  void close();

 private:
  cluster(boost::asio::any_io_executor executor, cluster_options opts);
  boost::asio::awaitable<result<std::shared_ptr<connection>>> async_open(const std::string& host, std::uint16_t port);
  boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds delay);
  /// Sleeps `delay` in short slices; false as soon as a signal was received (kb::interrupt).
  boost::asio::awaitable<bool> async_sleep_unless_interrupted(std::chrono::milliseconds delay);
  boost::asio::awaitable<result<void>> async_bootstrap_rounds();
  void apply_metadata(const protocol::metadata_response& md, bool full);
  [[nodiscard]] std::chrono::milliseconds next_backoff(int attempt);
  /// The slot async_send uses next for `node_id` (round-robin over connections_per_broker).
  [[nodiscard]] std::uint32_t take_slot(std::int32_t node_id);
  /// Sleeps the back-off for `attempt` unless that would pass `deadline`; false then.
  boost::asio::awaitable<bool> async_backoff_before(int attempt, std::chrono::steady_clock::time_point deadline);
  [[nodiscard]] error unreachable(std::int32_t node_id, std::chrono::milliseconds waited, const error& last) const;

  boost::asio::any_io_executor executor_;
  cluster_options opts_;
  std::map<std::int32_t, broker_address> brokers_;
  std::map<std::string, topic_info> topics_;
  std::optional<std::string> cluster_id_;
  std::int32_t controller_id_ = -1;
  /// Open connections by (node id, slot); slot < connections_per_broker.
  std::map<std::pair<std::int32_t, std::uint32_t>, std::shared_ptr<connection>> connections_;
  std::map<std::int32_t, std::uint32_t> next_slot_;  ///< round-robin position per broker
  std::shared_ptr<connection> bootstrap_connection_;  ///< until the node id is known
  std::shared_ptr<connection> opening_;  ///< being connected by async_open (closed on a signal)
  std::vector<std::weak_ptr<connection>> opened_;  ///< every broker connection made, for close()
  std::mt19937_64 rng_;
};

template <class Request>
boost::asio::awaitable<result<typename Request::response_type>> cluster::async_send(
    std::int32_t node_id, Request req, std::optional<std::uint32_t> pinned) {
  auto self = shared_from_this();
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  // One budget for the whole call: nested retries (reconnects inside resends) once added up to
  // minutes against a dead broker.
  const auto deadline = start + opts_.connection.request_timeout;
  std::optional<error> last;
  const std::uint32_t slot = pinned ? *pinned % std::max<std::uint32_t>(1, opts_.connections_per_broker)
                                    : take_slot(node_id);
  for (int attempt = 0; attempt < opts_.max_attempts; ++attempt) {
    if (attempt > 0 && !co_await async_backoff_before(attempt - 1, deadline)) break;
    auto conn = co_await async_connection(node_id, deadline, 0, slot);
    if (!conn) {
      if (!conn.error().is(errc::connect)) co_return fail(std::move(conn.error()));
      last = std::move(conn.error());
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    auto resp = co_await (*conn)->async_request(req, std::max(left, std::chrono::milliseconds(1)));
    if (resp || !resp.error().is(errc::connect)) co_return resp;
    last = std::move(resp.error());  // connection lost: reconnect and resend
    if (clock::now() >= deadline) break;
  }
  co_return fail(unreachable(node_id, std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start),
                             last ? *last : error{make_error_code(errc::connect), "no attempt was made"}));
}

}  // namespace kb::net
