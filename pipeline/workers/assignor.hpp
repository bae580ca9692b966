// The scale-out assignor: spreads partitions over the workers of a group by bytes, sticky across
// rebalances, plus the versioned bytes the member metadata and the assignment travel as in
// JoinGroup / SyncGroup.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace kb::pipeline::workers {

struct topic_partition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const topic_partition&) const = default;
};

/// One partition to place and its cost: bytes to fetch (backup) or bytes to produce (restore).
struct work_item {
  topic_partition tp;
  std::int64_t weight = 0;
};

/// A member as the leader sees it; `owned` is its previous assignment (what stickiness keeps).
struct member_input {
  std::string member_id;
  std::vector<topic_partition> owned;
};

/// member_id -> its partitions (sorted). Every member given to assign() has an entry, maybe empty.
using assignment = std::map<std::string, std::vector<topic_partition>>;

/// Deterministic (the result depends only on the sets given, not their order), exact (every
/// distinct item goes to exactly one member), byte-balanced (every member ends within
/// max(15 % of the mean, the largest item) of the mean load) and sticky (a member keeps what it
/// owned as far as that bound allows). Each item costs max(weight, 0) + 1, so empty partitions
/// still spread by count. No members: an empty assignment.
[[nodiscard]] assignment assign(std::span<const member_input> members, std::span<const work_item> items);

/// The first byte of both encodings; a decoder reads newer versions' leading fields and ignores
/// the rest (the rolling-upgrade rule Kafka's consumer protocol follows).
inline constexpr std::uint8_t wire_version = 1;

/// JoinGroup member metadata: version, member id, owned partitions grouped by topic.
[[nodiscard]] std::vector<std::byte> encode_member_metadata(const member_input& member);
/// Bytes from another process (untrusted): errc::protocol naming what is wrong and where.
[[nodiscard]] kb::result<member_input> decode_member_metadata(std::span<const std::byte> bytes);
[[nodiscard]] kb::result<member_input> decode_member_metadata(kb::byte_view bytes);

/// SyncGroup assignment: version, the group generation it was made for, the partitions.
struct member_assignment {
  std::int32_t generation = -1;
  std::vector<topic_partition> partitions;  ///< sorted
};
[[nodiscard]] std::vector<std::byte> encode_assignment(std::span<const topic_partition> partitions,
                                                       std::int32_t generation);
[[nodiscard]] kb::result<member_assignment> decode_assignment(std::span<const std::byte> bytes);
[[nodiscard]] kb::result<member_assignment> decode_assignment(kb::byte_view bytes);

}  // namespace kb::pipeline::workers
