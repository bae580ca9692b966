#include "net/cluster.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/interrupt.hpp"
#include "base/log.hpp"
#include "base/url.hpp"

namespace kb::net {
namespace {

namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Errors a new attempt cannot fix: credentials, certificates, configuration, versions.
bool is_permanent(const error& e) {
  return e.is(errc::tls) || e.is(errc::sasl) || e.is(errc::config) || e.is(errc::unsupported) ||
         e.is(errc::authorization) || e.is(errc::invalid_argument);
}

}  // namespace

result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view server) {
  auto hp = url::parse_host_port(server);
  if (!hp) {
    return fail(errc::config, fmt::format("bootstrap server '{}' is not host:port or [ipv6]:port with a port 1-65535: {}",
                                          server, hp.error().message));
  }
  return std::pair<std::string, std::uint16_t>{std::move(hp->host), hp->port};
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds max,
                                        std::mt19937_64& rng) {
  const int shift = std::clamp(attempt, 0, 30);
  const double raw = std::min(static_cast<double>(base.count()) * static_cast<double>(1LL << shift),
                              static_cast<double>(max.count()));
  const double jitter = std::uniform_real_distribution<double>(0.8, 1.2)(rng);
  const auto ms = static_cast<std::int64_t>(std::min(raw * jitter, static_cast<double>(max.count())));
  return std::chrono::milliseconds(std::max<std::int64_t>(ms, 1));
}

bool needs_metadata_refresh(std::int16_t error_code) noexcept {
  return protocol::classify(error_code) == protocol::error_class::refresh_metadata;
}

error topic_error(std::int16_t error_code, std::string_view topic, std::string_view principal_hint) {
  const auto code = static_cast<protocol::error_code>(error_code);
  if (code == protocol::error_code::topic_authorization_failed)
    return error{make_error_code(errc::authorization),
                 fmt::format("Not authorized to access topic '{}': grant {} Describe (and Read to back up, Write to "
                             "restore) on the topic",
                             topic, principal_hint.empty() ? std::string("the principal") : std::string(principal_hint))};
  return error{make_error_code(errc::broker), fmt::format("topic '{}': broker error {}", topic, protocol::name(code))};
}

error group_error(std::int16_t error_code, std::string_view group, std::string_view principal_hint) {
  const auto code = static_cast<protocol::error_code>(error_code);
  if (code == protocol::error_code::group_authorization_failed)
    return error{make_error_code(errc::authorization),
                 fmt::format("Not authorized to access group '{}': grant {} Describe and Read on the group", group,
                             principal_hint.empty() ? std::string("the principal") : std::string(principal_hint))};
  return error{make_error_code(errc::broker), fmt::format("group '{}': broker error {}", group, protocol::name(code))};
}

error cluster_error(std::int16_t error_code, std::string_view operation, std::string_view principal_hint) {
  const auto code = static_cast<protocol::error_code>(error_code);
  if (code == protocol::error_code::cluster_authorization_failed)
    return error{make_error_code(errc::authorization),
                 fmt::format("Not authorized to access cluster: grant {} {} on the cluster resource",
                             principal_hint.empty() ? std::string("the principal") : std::string(principal_hint),
                             operation)};
  return error{make_error_code(errc::broker), fmt::format("cluster: broker error {}", protocol::name(code))};
}

std::shared_ptr<cluster> cluster::create(asio::any_io_executor executor, cluster_options opts) {
  return std::shared_ptr<cluster>(new cluster(std::move(executor), std::move(opts)));
}

cluster::cluster(asio::any_io_executor executor, cluster_options opts)
    : executor_(std::move(executor)), opts_(std::move(opts)), rng_(std::random_device{}()) {
  if (uses_tls(opts_.connection.protocol) && !opts_.connection.tls_context) {
    // One context for all brokers; a bad key or CA surfaces on the first connect instead.
    if (auto ctx = make_tls_context(opts_.connection.tls)) opts_.connection.tls_context = std::move(*ctx);
  }
}

cluster::~cluster() { close(); }

void cluster::close() {
  for (auto& [id, conn] : connections_)
    if (conn) conn->close();
  connections_.clear();
  // Also those no longer in connections_: one left open keeps its read loop, and so the
  // io_context, running.
  for (auto& weak : opened_)
    if (auto conn = weak.lock()) conn->close();
  opened_.clear();
  if (bootstrap_connection_) bootstrap_connection_->close();
  bootstrap_connection_.reset();
}

std::uint32_t cluster::take_slot(std::int32_t node_id) {
  const std::uint32_t n = std::max<std::uint32_t>(1, opts_.connections_per_broker);
  auto& next = next_slot_[node_id];
  const std::uint32_t slot = next % n;
  next = (slot + 1) % n;
  return slot;
}

std::chrono::milliseconds cluster::next_backoff(int attempt) {
  return backoff_delay(attempt, opts_.retry_backoff, opts_.retry_backoff_max, rng_);
}

asio::awaitable<void> cluster::async_sleep(std::chrono::milliseconds delay) {
  asio::steady_timer timer(executor_);
  timer.expires_after(delay);
  co_await timer.async_wait(use_tuple);
}

asio::awaitable<bool> cluster::async_backoff_before(int attempt, std::chrono::steady_clock::time_point deadline) {
  const auto delay = next_backoff(attempt);
  if (std::chrono::steady_clock::now() + delay >= deadline) co_return false;
  co_await async_sleep(delay);
  co_return true;
}

error cluster::unreachable(std::int32_t node_id, std::chrono::milliseconds waited, const error& last) const {
  const auto b = brokers_.find(node_id);
  const std::string where = b == brokers_.end() ? std::string("not in metadata")
                                                : fmt::format("{}:{}", b->second.host, b->second.port);
  // Keep the cause's code (connect or timeout) so callers refresh metadata and re-route.
  return error{last.code, fmt::format("broker node {} ({}) did not answer within {} ms: {}", node_id, where,
                                      waited.count(), last.message)};
}

asio::awaitable<result<std::shared_ptr<connection>>> cluster::async_open(const std::string& host, std::uint16_t port) {
  auto conn = connection::create(executor_, host, port, opts_.connection);
  opening_ = conn;  // so that an interruption can close it while it waits
  auto connected = co_await conn->async_connect();
  if (opening_ == conn) opening_.reset();
  if (!connected) co_return fail(std::move(connected.error()));
  if (log::enabled(log::level::debug)) {
    // What an older broker ends up speaking (docs/reliability.md records it per Kafka version).
    std::string used;
    for (const auto& api : protocol::supported_apis) {
      const auto v = conn->versions().get(api.key);
      used += fmt::format("{}{} {}", used.empty() ? "" : ", ", api.name, v ? fmt::format("v{}", *v) : "-");
    }
    const auto av = conn->versions().get(protocol::api_key::api_versions);
    log::debug("broker {}:{}: ApiVersions v{}; negotiated {}", host, port, av.value_or(0), used);
  }
  co_return conn;
}

namespace {

error interrupted_bootstrap(std::string_view where) {
  return error{make_error_code(errc::cancelled),
               fmt::format("interrupted by signal {} while bootstrapping ({}); nothing was done",
                           interrupt::first_signal(), where)};
}

}  // namespace

asio::awaitable<bool> cluster::async_sleep_unless_interrupted(std::chrono::milliseconds delay) {
  const auto end = std::chrono::steady_clock::now() + delay;
  while (!interrupt::requested()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) co_return true;
    co_await async_sleep(std::min(left, std::chrono::milliseconds(100)));
  }
  co_return false;
}

asio::awaitable<result<void>> cluster::async_bootstrap() {
  auto self = shared_from_this();
  // A SIGINT/SIGTERM ends a bootstrap against brokers that accept and never answer at once: a
  // watcher closes the connection being opened, which fails its pending request.
  auto watching = std::make_shared<bool>(true);
  asio::co_spawn(
      executor_,
      [self, watching]() -> asio::awaitable<void> {
        while (*watching) {
          if (interrupt::requested()) {
            if (self->opening_) self->opening_->close();
            if (self->bootstrap_connection_) self->bootstrap_connection_->close();
            co_return;
          }
          co_await self->async_sleep(std::chrono::milliseconds(100));
        }
      },
      asio::detached);
  auto outcome = co_await async_bootstrap_rounds();
  *watching = false;
  if (!outcome && interrupt::requested()) {
    co_return fail(interrupted_bootstrap(fmt::format("{}", fmt::join(opts_.bootstrap_servers, ", "))));
  }
  co_return outcome;
}

asio::awaitable<result<void>> cluster::async_bootstrap_rounds() {
  if (opts_.bootstrap_servers.empty())
    co_return fail(errc::config, "bootstrap_servers is empty; list at least one broker as host:port");
  std::vector<std::pair<std::string, std::uint16_t>> servers;
  for (const auto& s : opts_.bootstrap_servers) {
    auto hp = parse_host_port(s);
    if (!hp) co_return fail(std::move(hp.error()));
    servers.push_back(std::move(*hp));
  }
  std::string failures;
  for (int round = 0; round < opts_.max_attempts; ++round) {
    if (round > 0 && !co_await async_sleep_unless_interrupted(next_backoff(round - 1)))
      co_return fail(errc::cancelled, "interrupted");
    failures.clear();
    for (const auto& [host, port] : servers) {
      if (interrupt::requested()) co_return fail(errc::cancelled, "interrupted");
      auto conn = co_await async_open(host, port);
      if (!conn) {
        if (is_permanent(conn.error())) co_return fail(std::move(conn.error()));
        log::warn("bootstrap: {}", conn.error().message);
        failures += (failures.empty() ? "" : "; ") + conn.error().message;
        continue;
      }
      bootstrap_connection_ = std::move(*conn);
      auto refreshed = co_await async_refresh_metadata();
      if (refreshed) co_return refreshed;
      if (is_permanent(refreshed.error())) co_return refreshed;
      failures += (failures.empty() ? "" : "; ") + refreshed.error().message;
    }
  }
  co_return fail(errc::connect, "no bootstrap server answered after " + std::to_string(opts_.max_attempts) +
                                    " rounds: " + failures);
}

asio::awaitable<result<std::shared_ptr<connection>>> cluster::async_any_connection() {
  auto self = shared_from_this();
  if (bootstrap_connection_ && bootstrap_connection_->is_ready()) co_return bootstrap_connection_;
  for (auto& [id, conn] : connections_)
    if (conn && conn->is_ready()) co_return conn;
  std::optional<error> last;
  for (const auto& [id, broker] : brokers_) {
    // One attempt per broker: a dead one must not hold up the others.
    auto conn = co_await async_connection(id, std::chrono::steady_clock::now() + opts_.connection.connect_timeout, 1);
    if (conn) co_return conn;
    if (is_permanent(conn.error())) co_return fail(std::move(conn.error()));
    last = std::move(conn.error());
  }
  // No known broker answers: fall back to the bootstrap list.
  for (const auto& server : opts_.bootstrap_servers) {
    auto hp = parse_host_port(server);
    if (!hp) co_return fail(std::move(hp.error()));
    auto conn = co_await async_open(hp->first, hp->second);
    if (conn) {
      bootstrap_connection_ = *conn;
      co_return conn;
    }
    if (is_permanent(conn.error())) co_return fail(std::move(conn.error()));
    last = std::move(conn.error());
  }
  co_return fail(last ? std::move(*last) : error{make_error_code(errc::connect), "no broker is reachable"});
}

asio::awaitable<result<void>> cluster::async_refresh_metadata(std::optional<std::vector<std::string>> topics) {
  auto self = shared_from_this();
  std::optional<error> last;
  for (int attempt = 0; attempt < opts_.max_attempts; ++attempt) {
    if (attempt > 0) co_await async_sleep(next_backoff(attempt - 1));
    auto conn = co_await async_any_connection();
    if (!conn) {
      if (is_permanent(conn.error())) co_return fail(std::move(conn.error()));
      last = std::move(conn.error());
      continue;
    }
    protocol::metadata_request req;
    req.allow_auto_topic_creation = false;
    if (topics) {
      req.topics.emplace();
      for (const auto& name : *topics) req.topics->push_back({protocol::uuid{}, name});
    }
    auto md = co_await (*conn)->async_request(req);
    if (!md) {
      if (is_permanent(md.error())) co_return fail(std::move(md.error()));
      last = std::move(md.error());
      continue;
    }
    if (md->error_code != 0 && needs_metadata_refresh(md->error_code)) {
      last = error{make_error_code(errc::broker),
                   fmt::format("Metadata from broker {}: {}", (*conn)->broker(),
                               protocol::name(static_cast<protocol::error_code>(md->error_code)))};
      continue;
    }
    apply_metadata(*md, !topics.has_value());
    co_return result<void>{};
  }
  co_return fail(last ? std::move(*last) : error{make_error_code(errc::connect), "metadata refresh failed"});
}

void cluster::apply_metadata(const protocol::metadata_response& md, bool full) {
  std::map<std::int32_t, broker_address> brokers;
  for (const auto& b : md.brokers)
    brokers[b.node_id] = broker_address{b.node_id, b.host, static_cast<std::uint16_t>(b.port), b.rack};
  // Connections to brokers that left, or moved, are closed.
  for (auto it = connections_.begin(); it != connections_.end();) {
    auto found = brokers.find(it->first.first);
    if (found == brokers.end() || found->second.host != it->second->host() || found->second.port != it->second->port()) {
      it->second->close();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
  brokers_ = std::move(brokers);
  cluster_id_ = md.cluster_id;
  controller_id_ = md.controller_id;
  // Adopt the bootstrap connection under its node id when it matches an advertised listener.
  if (bootstrap_connection_ && bootstrap_connection_->is_ready()) {
    for (const auto& [id, b] : brokers_) {
      if (b.host == bootstrap_connection_->host() && b.port == bootstrap_connection_->port() &&
          !connections_.contains({id, 0})) {
        connections_[{id, 0}] = bootstrap_connection_;
        break;
      }
    }
  }
  if (full) topics_.clear();
  for (const auto& t : md.topics) {
    if (!t.name) continue;
    topic_info info;
    info.name = *t.name;
    info.topic_id = t.topic_id;
    info.is_internal = t.is_internal;
    info.error_code = t.error_code;
    for (const auto& p : t.partitions)
      info.partitions.push_back({p.partition_index, p.leader_id, p.leader_epoch, p.error_code, p.replica_nodes,
                                 p.isr_nodes});
    std::sort(info.partitions.begin(), info.partitions.end(),
              [](const partition_info& a, const partition_info& b) { return a.partition < b.partition; });
    if (t.error_code == static_cast<std::int16_t>(protocol::error_code::unknown_topic_or_partition))
      topics_.erase(info.name);
    else
      topics_[info.name] = std::move(info);
  }
}

asio::awaitable<result<std::shared_ptr<connection>>> cluster::async_connection(std::int32_t node_id) {
  return async_connection(node_id, std::chrono::steady_clock::now() + opts_.connection.request_timeout);
}

asio::awaitable<result<std::shared_ptr<connection>>> cluster::async_connection(
    std::int32_t node_id, std::chrono::steady_clock::time_point deadline, int attempts, std::uint32_t slot) {
  auto self = shared_from_this();
  using clock = std::chrono::steady_clock;
  std::optional<error> last;
  const int max_attempts = attempts > 0 ? attempts : opts_.max_attempts;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    // The back-off comes before the lookup: a suspension between finding the slot empty and
    // filling it let two callers each open a connection for one slot, and the one overwritten
    // stayed open, unknown to close(), keeping the io_context (and the process) alive forever.
    if (attempt > 0 && !co_await async_backoff_before(attempt - 1, deadline)) break;
    const std::pair<std::int32_t, std::uint32_t> key{node_id, slot};
    if (auto it = connections_.find(key); it != connections_.end()) {
      auto conn = it->second;
      // Another coroutine may be connecting it: wait for it to settle (its connect timeout
      // bounds this; the deadline bounds our share of it).
      for (int polls = 0; conn->state() != connection_state::ready &&
                          conn->state() != connection_state::disconnected && polls < 10'000 &&
                          clock::now() < deadline;
           ++polls)
        co_await async_sleep(std::chrono::milliseconds(5));
      if (conn->is_ready()) co_return conn;
      if (conn->state() != connection_state::disconnected) {
        last = error{make_error_code(errc::connect), fmt::format("connecting to {} is still in progress", conn->broker())};
        break;
      }
      if (auto again = connections_.find(key); again != connections_.end()) {
        if (again->second != conn) continue;  // replaced while we polled: look at that one
        connections_.erase(again);
      }
    }
    auto broker = brokers_.find(node_id);
    if (broker == brokers_.end())
      co_return fail(errc::not_found, fmt::format("broker node {} is not in the cluster metadata", node_id));
    auto copts = opts_.connection;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    copts.connect_timeout = std::clamp(left, std::min(copts.connect_timeout, std::chrono::milliseconds(1000)),
                                       copts.connect_timeout);
    auto conn = connection::create(executor_, broker->second.host, broker->second.port, std::move(copts));
    connections_[key] = conn;
    std::erase_if(opened_, [](const std::weak_ptr<connection>& w) { return w.expired(); });
    opened_.push_back(conn);
    auto connected = co_await conn->async_connect();
    if (connected) co_return conn;
    if (auto again = connections_.find(key); again != connections_.end() && again->second == conn)
      connections_.erase(again);
    if (is_permanent(connected.error())) co_return fail(std::move(connected.error()));
    log::debug("broker node {}: {} (attempt {})", node_id, connected.error().message, attempt + 1);
    last = std::move(connected.error());
    if (clock::now() >= deadline) break;
  }
  co_return fail(std::move(*last));
}

const topic_info* cluster::find_topic(std::string_view name) const {
  auto it = topics_.find(std::string(name));
  return it == topics_.end() ? nullptr : &it->second;
}

result<std::int32_t> cluster::leader(const topic_partition& tp) const {
  const topic_info* topic = find_topic(tp.topic);
  if (topic == nullptr) return fail(errc::not_found, "topic '" + tp.topic + "' is not in the cluster metadata");
  auto it = std::lower_bound(topic->partitions.begin(), topic->partitions.end(), tp.partition,
                             [](const partition_info& p, std::int32_t id) { return p.partition < id; });
  if (it == topic->partitions.end() || it->partition != tp.partition)
    return fail(errc::not_found, fmt::format("partition {}-{} does not exist (the topic has {} partitions)", tp.topic,
                                             tp.partition, topic->partitions.size()));
  if (it->leader_id < 0)
    return fail(errc::broker, fmt::format("partition {}-{} has no leader right now (LEADER_NOT_AVAILABLE)", tp.topic,
                                          tp.partition));
  return it->leader_id;
}

std::map<std::int32_t, std::vector<topic_partition>> cluster::group_by_leader(
    std::span<const topic_partition> partitions, std::vector<topic_partition>* unassigned) const {
  std::map<std::int32_t, std::vector<topic_partition>> out;
  for (const auto& tp : partitions) {
    auto id = leader(tp);
    if (id && brokers_.contains(*id))
      out[*id].push_back(tp);
    else if (unassigned != nullptr)
      unassigned->push_back(tp);
  }
  return out;
}

}  // namespace kb::net
