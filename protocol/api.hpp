// Kafka API keys, the one table of API versions this client speaks, and ApiVersions
// negotiation (highest version both sides support, per API).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/error.hpp"

namespace kb::protocol {

enum class api_key : std::int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  delete_records = 21,
  init_producer_id = 22,
  describe_configs = 32,
  sasl_authenticate = 36,
};

/// `first_flexible` for APIs that have no flexible version.
inline constexpr std::int16_t never_flexible = 0x7fff;

/// What this client speaks for one API. Minimums stay at or below what Kafka 2.1 offers and at
/// or above what Kafka 4.0 kept (KIP-896), so one range works against 2.1 .. 4.x brokers.
struct api_support {
  api_key key;
  std::string_view name;
  std::int16_t min_version;
  std::int16_t max_version;
  std::int16_t first_flexible;  ///< first version using compact types and tagged fields (KIP-482)
};

/// THE table. Negotiation, header selection, encoders and tests all read it.
inline constexpr std::array<api_support, 20> supported_apis{{
    {api_key::produce, "Produce", 3, 12, 9},
    {api_key::fetch, "Fetch", 4, 17, 12},
    {api_key::list_offsets, "ListOffsets", 1, 9, 6},
    {api_key::metadata, "Metadata", 1, 13, 9},
    {api_key::offset_commit, "OffsetCommit", 2, 9, 8},
    {api_key::offset_fetch, "OffsetFetch", 1, 9, 6},
    {api_key::find_coordinator, "FindCoordinator", 0, 6, 3},
    {api_key::join_group, "JoinGroup", 2, 9, 6},  // v0 lacks the rebalance timeout (KIP-62); 0.11+ offer v2
    {api_key::heartbeat, "Heartbeat", 0, 4, 4},
    {api_key::leave_group, "LeaveGroup", 0, 5, 4},
    {api_key::sync_group, "SyncGroup", 0, 5, 4},
    {api_key::describe_groups, "DescribeGroups", 0, 5, 5},
    {api_key::list_groups, "ListGroups", 0, 5, 3},
    {api_key::sasl_handshake, "SaslHandshake", 0, 1, never_flexible},
    {api_key::api_versions, "ApiVersions", 0, 4, 3},
    {api_key::create_topics, "CreateTopics", 2, 7, 5},
    {api_key::delete_records, "DeleteRecords", 0, 2, 2},
    {api_key::init_producer_id, "InitProducerId", 0, 5, 2},
    {api_key::describe_configs, "DescribeConfigs", 1, 4, 4},
    {api_key::sasl_authenticate, "SaslAuthenticate", 0, 2, 2},
}};

/// Our entry for `key`, or nullptr if we do not speak it.
constexpr const api_support* find_support(api_key key) noexcept {
  for (const auto& s : supported_apis)
    if (s.key == key) return &s;
  return nullptr;
}

/// Whether `version` of `key` uses the flexible encoding (compact strings/arrays, tags).
constexpr bool is_flexible(api_key key, std::int16_t version) noexcept {
  const api_support* s = find_support(key);
  return s != nullptr && version >= s->first_flexible;
}

/// "Fetch", "Metadata", …; "ApiKey(<n>)" is not returned: unknown keys give "unknown".
std::string_view name(api_key key) noexcept;

/// One API's version range as a broker advertises it (ApiVersionsResponse.ApiKeys[]).
struct api_version_range {
  std::int16_t api_key = 0;
  std::int16_t min_version = 0;
  std::int16_t max_version = 0;
};

/// The versions agreed with one broker: for each of our APIs, the highest version both sides
/// support, or nothing when the ranges do not overlap (or the broker lacks the API).
class version_table {
 public:
  /// The agreed version, or errc::unsupported naming the API and both ranges.
  [[nodiscard]] result<std::int16_t> get(api_key key) const;
  [[nodiscard]] std::optional<std::int16_t> find(api_key key) const noexcept;
  void set(api_key key, std::optional<std::int16_t> version) noexcept;
  /// The broker's advertised range for one of our APIs (nullopt when it does not offer it).
  [[nodiscard]] std::optional<api_version_range> broker_range(api_key key) const noexcept;
  /// The lowest version both sides support (nullopt when the ranges do not overlap).
  [[nodiscard]] std::optional<std::int16_t> lowest(api_key key) const noexcept;
  /// Lowers the agreed version to at most `cap`, never below lowest(); for tests and for
  /// working around a broker's broken newer version. No effect on absent APIs.
  void cap(api_key key, std::int16_t cap) noexcept;

 private:
  static std::size_t index(api_key key) noexcept;
  std::array<std::int16_t, supported_apis.size()> versions_{};
  std::array<std::int16_t, supported_apis.size()> broker_min_{};
  std::array<std::int16_t, supported_apis.size()> broker_max_{};
  std::array<bool, supported_apis.size()> present_{};
  std::array<bool, supported_apis.size()> advertised_{};
  friend result<version_table> negotiate(std::span<const api_version_range>,
                                         std::span<const api_key>);
};

/// Picks, per API, the highest version in both our range and the broker's. Fails with
/// errc::unsupported if any API in `required` has no common version (naming the API, both
/// ranges and the fix). APIs outside `required` may be absent from the table.
result<version_table> negotiate(std::span<const api_version_range> broker,
                                std::span<const api_key> required);

/// Same, requiring the APIs backup and restore cannot work without; the admin-only APIs
/// (CreateTopics, DeleteRecords, DescribeConfigs, InitProducerId, SaslAuthenticate) and the group
/// membership APIs of scale-out (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) are checked by
/// `version_table::get` when first used.
result<version_table> negotiate(std::span<const api_version_range> broker);

}  // namespace kb::protocol
