// Creating the target topics the checks found missing (target_check::facts().to_create) and
// waiting until every new partition has a leader.
#pragma once

#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "protocol/create_topics.hpp"

namespace kb::pipeline::restore {

/// CreateTopics for `to_create` (an existing topic is fine), then metadata until each has its
/// partitions and leaders (bounded: 30 s, then errc::timeout). A refusal names the topic and the
/// broker's reason (errc::authorization for an ACL).
[[nodiscard]] boost::asio::awaitable<kb::result<void>> async_create_topics(
    net::cluster& cluster, const std::vector<protocol::create_topics_request::topic>& to_create);

}  // namespace kb::pipeline::restore
