// libFuzzer target: every response body the client decodes. The first byte picks the API (its
// Kafka API key); the rest is the body after the response header, decoded at every version we
// speak and, when it decodes, re-encoded and decoded again to identical bytes.
#include <cstddef>
#include <cstdint>

#include "protocol/api_versions.hpp"
#include "protocol/create_topics.hpp"
#include "protocol/delete_records.hpp"
#include "protocol/describe_configs.hpp"
#include "protocol/describe_groups.hpp"
#include "protocol/fetch.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/heartbeat.hpp"
#include "protocol/init_producer_id.hpp"
#include "protocol/join_group.hpp"
#include "protocol/leave_group.hpp"
#include "protocol/list_groups.hpp"
#include "protocol/list_offsets.hpp"
#include "protocol/metadata.hpp"
#include "protocol/offset_commit.hpp"
#include "protocol/offset_fetch.hpp"
#include "protocol/produce.hpp"
#include "protocol/sasl_authenticate.hpp"
#include "protocol/sasl_handshake.hpp"
#include "protocol/sync_group.hpp"
#include "tests/protocol/fuzz_common.hpp"

namespace {

template <class... M>
void decode_as(std::uint8_t key, const std::uint8_t* data, std::size_t size) {
  // Exactly one of the listed messages has this key; the others are skipped.
  ((static_cast<std::uint8_t>(M::key) == key
        ? kb::protocol::fuzz::decode_at_every_version<M>(data, size)
        : void()),
   ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using namespace kb::protocol;
  decode_as<produce_response, fetch_response, list_offsets_response, metadata_response,
            offset_commit_response, offset_fetch_response, find_coordinator_response,
            join_group_response, heartbeat_response, leave_group_response, sync_group_response,
            describe_groups_response, list_groups_response, sasl_handshake_response,
            api_versions_response, create_topics_response, delete_records_response,
            init_producer_id_response, describe_configs_response, sasl_authenticate_response>(
      data[0], data + 1, size - 1);
  return 0;
}
