// End offsets of many target partitions: one ListOffsets per leader (not one per partition,
// which costs a round trip each with a thousand partitions), retried while leaders settle.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"

namespace kb::pipeline::restore {

/// The latest offsets of `partitions` (pipeline/kafka_admin: one request per leader). A topic of
/// 1,000 partitions created a moment ago can take well over 5 s to answer for all of them on a
/// busy broker, so partitions are retried for up to 60 s (240 rounds of 250 ms), then errc::broker
/// naming a partition and the broker's last answer. An ACL denial is errc::authorization naming
/// Describe; another fatal code is errc::broker naming the topic and the code, at once.
[[nodiscard]] boost::asio::awaitable<kb::result<std::map<net::topic_partition, std::int64_t>>> async_end_offsets(
    net::cluster& cluster, std::vector<net::topic_partition> partitions);

}  // namespace kb::pipeline::restore
