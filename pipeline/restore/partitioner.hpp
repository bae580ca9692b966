// Kafka's key partitioner for repartitioned restores: murmur2 exactly as the Java client's
// Utils.murmur2, then toPositive(hash) % partitions; null keys go round-robin.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.hpp"

namespace kb::pipeline::restore {

/// Java's org.apache.kafka.common.utils.Utils.murmur2 (seed 0x9747b28c), as a signed int.
[[nodiscard]] std::int32_t murmur2(byte_view data) noexcept;

/// Utils.toPositive(murmur2(key)) % partitions, the Java default partitioner's choice for a key.
[[nodiscard]] std::int32_t partition_for_key(byte_view key, std::int32_t partitions) noexcept;

/// Keyed records by murmur2, null keys round-robin over the partitions; with `use_keys` false
/// (repartitioning strategy `automatic`) every record goes round-robin.
class murmur2_partitioner {
 public:
  explicit murmur2_partitioner(std::int32_t partitions, bool use_keys = true) noexcept
      : partitions_(partitions), use_keys_(use_keys) {}
  [[nodiscard]] std::int32_t choose(const std::optional<byte_view>& key) noexcept {
    if (key && use_keys_) return partition_for_key(*key, partitions_);
    const std::int32_t p = static_cast<std::int32_t>(next_ % static_cast<std::uint32_t>(partitions_));
    ++next_;
    return p;
  }
  [[nodiscard]] std::int32_t partitions() const noexcept { return partitions_; }

 private:
  std::int32_t partitions_;
  bool use_keys_ = true;
  std::uint32_t next_ = 0;
};

}  // namespace kb::pipeline::restore
