// InitProducerId (key 22), versions 0..5: obtains a producer id and epoch for idempotent or
// transactional produce (KIP-98); v3+ can bump the epoch of an existing id (KIP-360).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct init_producer_id_response {
  static constexpr api_key key = api_key::init_producer_id;

  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;

  void encode(writer& w, std::int16_t version) const;
  static result<init_producer_id_response> decode(reader& r, std::int16_t version);
};

struct init_producer_id_request {
  static constexpr api_key key = api_key::init_producer_id;
  using response_type = init_producer_id_response;

  std::optional<std::string> transactional_id;  ///< null for an idempotent-only producer
  std::int32_t transaction_timeout_ms = 60000;
  std::int64_t producer_id = -1;    // v3+ (KIP-360)
  std::int16_t producer_epoch = -1; // v3+ (KIP-360)

  void encode(writer& w, std::int16_t version) const;
  static result<init_producer_id_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
