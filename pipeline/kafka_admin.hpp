// pipeline/kafka_admin: the admin calls both engines make (ListOffsets by leader, FindCoordinator) under one
// retry policy and one classification of broker answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/list_offsets.hpp"

namespace kb::pipeline {

/// What a caller does with one broker error code in an admin answer. The one classification:
/// both engines decide through it, so a code is never retried by one and fatal in the other.
enum class admin_action {
  ok,                  ///< no error
  retry,               ///< transient or stale metadata: refresh, back off, ask again
  fail_authorization,  ///< an ACL denies it: fail naming the missing permission (exit 3)
  fail,                ///< anything else: fail naming the code
};
[[nodiscard]] admin_action classify_admin_error(std::int16_t error_code) noexcept;

/// A transport failure worth another round (a lost or slow broker: errc::connect/timeout);
/// TLS, SASL, authorization and everything else end the call.
[[nodiscard]] bool is_retriable_transport(const error& e) noexcept;

/// "User:<name>" for a SASL connection with a user name (error texts name whom to grant an ACL), else "".
[[nodiscard]] std::string principal_hint(const net::connection_options& c);

/// How often and how patiently an admin call is retried.
struct admin_retry {
  int max_attempts = 8;                        ///< rounds in all, the first included
  std::chrono::milliseconds backoff{100};      ///< before round 2 (doubled each round when exponential)
  std::chrono::milliseconds backoff_max{5'000};
  bool exponential = true;                     ///< false: every wait is `backoff`
  /// The wait before round `attempt` (1-based; round 0 does not wait): exponential rounds wait
  /// backoff * 2^attempt, capped at backoff_max.
  [[nodiscard]] std::chrono::milliseconds delay(int attempt) const noexcept;
};

using offset_map = std::map<net::topic_partition, std::int64_t>;

/// One ListOffsets request per leader: partitions grouped by topic in the order given.
[[nodiscard]] protocol::list_offsets_request make_list_offsets_request(const std::vector<net::topic_partition>& tps,
                                                                       std::int64_t timestamp);

/// Takes one ListOffsets answer into `out`; partitions to ask again (retriable codes, and any asked
/// partition the answer left out) are appended to `retry`, with the code's name in `last_answer`.
/// An authorization or other fatal code is the error returned (topic_error with `principal_hint`).
[[nodiscard]] result<void> absorb_list_offsets(const protocol::list_offsets_response& resp,
                                               const std::vector<net::topic_partition>& asked,
                                               std::string_view principal_hint, offset_map& out,
                                               std::vector<net::topic_partition>& retry, std::string& last_answer);

/// The coordinator FindCoordinator named (v4 list or the older flat fields): node -1 when none.
struct coordinator_answer {
  std::int32_t node = -1;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
};
[[nodiscard]] coordinator_answer read_coordinator(const protocol::find_coordinator_response& resp);
[[nodiscard]] protocol::find_coordinator_request make_find_coordinator_request(const std::string& group);

/// The admin calls over one cluster view (used on the cluster's executor only).
class kafka_admin {
 public:
  kafka_admin(net::cluster& cluster, admin_retry retry, std::string principal_hint = {})
      : cluster_(cluster), retry_(retry), principal_hint_(std::move(principal_hint)) {}

  /// The offsets at `timestamp` (protocol::earliest_timestamp / latest_timestamp / a time) of
  /// many partitions, one request per leader. Partitions without a leader, retriable codes and
  /// lost brokers are retried (metadata refreshed, back-off) up to retry.max_attempts rounds;
  /// then errc::broker naming a partition and the broker's last answer. An ACL denial is
  /// errc::authorization at once, as is a TLS/SASL failure.
  [[nodiscard]] boost::asio::awaitable<result<offset_map>> async_list_offsets(std::vector<net::topic_partition> tps,
                                                                             std::int64_t timestamp);

  /// One FindCoordinator round trip for a consumer group, no retry: the caller decides what an
  /// error code means for it (a group snapshot skips a group it may not read).
  [[nodiscard]] boost::asio::awaitable<result<coordinator_answer>> async_find_coordinator_once(const std::string& group);

  /// The coordinator of a consumer group, retried per policy while it moves or loads;
  /// GROUP_AUTHORIZATION_FAILED is errc::authorization (group_error), other fatal codes errc::broker.
  [[nodiscard]] boost::asio::awaitable<result<std::int32_t>> async_find_coordinator(const std::string& group);

 private:
  boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds d);

  net::cluster& cluster_;
  admin_retry retry_;
  std::string principal_hint_;
};

}  // namespace kb::pipeline
