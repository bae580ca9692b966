// `kafka-backup reset-offsets` against a cluster: checks each group is idle (DescribeGroups), reads
// its committed offsets (OffsetFetch), resolves the new ones (ListOffsets) and commits them
// (OffsetCommit through the group coordinator), like kafka-consumer-groups.sh --reset-offsets.
#pragma once

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/offsets/reset_plan.hpp"

namespace kb::pipeline::offsets {

/// Runs the reset on its own io_context (blocking). With dry_run nothing is committed. Errors:
/// errc::conflict for an active group (nothing of that group or any later one is committed),
/// errc::authorization naming the ACL, errc::not_found for a literal topic that does not exist,
/// connection/TLS/SASL errors as the cluster reports them.
[[nodiscard]] result<reset_report> run_reset(const net::cluster_options& cluster, const reset_request& request);

}  // namespace kb::pipeline::offsets
