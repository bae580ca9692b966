// Produce (key 0), versions 3..12: writes record batches to partition leaders (restore).
// Records are a kb::byte_view the caller keeps alive until the request is encoded; encoding
// copies them once into the frame, unless the caller hands `keep_alive` (an owner of the batches):
// then the connection gather-writes them from where they lie. With acks = 0 the broker sends no
// response.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct produce_response {
  static constexpr api_key key = api_key::produce;

  struct batch_index_and_error_message {  // v8+ (KIP-467)
    std::int32_t batch_index = 0;
    std::optional<std::string> batch_index_error_message;
  };
  struct leader_id_and_epoch {  // tag 0, v10+ (KIP-951)
    std::int32_t leader_id = -1;
    std::int32_t leader_epoch = -1;
  };
  struct partition {
    std::int32_t index = 0;
    std::int16_t error_code = 0;
    std::int64_t base_offset = 0;
    std::int64_t log_append_time_ms = -1;  // v2+
    std::int64_t log_start_offset = -1;    // v5+
    std::vector<batch_index_and_error_message> record_errors;  // v8+
    std::optional<std::string> error_message;                  // v8+
    std::optional<leader_id_and_epoch> current_leader;         // tagged, v10+
  };
  struct topic {
    std::string name;
    std::vector<partition> partition_responses;
  };
  struct node_endpoint {  // tag 0, v10+ (KIP-951)
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;
  };

  std::vector<topic> responses;
  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<node_endpoint> node_endpoints;

  void encode(writer& w, std::int16_t version) const;
  static result<produce_response> decode(reader& r, std::int16_t version);
};

struct produce_request {
  static constexpr api_key key = api_key::produce;
  using response_type = produce_response;

  struct partition {
    std::int32_t index = 0;
    std::optional<byte_view> records;  ///< borrowed: must outlive encode()
  };
  struct topic {
    std::string name;
    std::vector<partition> partition_data;
  };

  std::optional<std::string> transactional_id;  // v3+ (KIP-98)
  std::int16_t acks = -1;
  std::int32_t timeout_ms = 30000;
  std::vector<topic> topic_data;
  /// Not on the wire: owns the bytes `records` point into. When set, net::connection writes the
  /// batches from there (no copy into the frame) and holds this until the write has finished.
  std::shared_ptr<const void> keep_alive;

  /// Bytes of record data referenced, for sizing the frame buffer.
  [[nodiscard]] std::size_t records_size() const noexcept;

  void encode(writer& w, std::int16_t version) const;
  static result<produce_request> decode(reader& r, std::int16_t version);
};

}  // namespace kb::protocol
