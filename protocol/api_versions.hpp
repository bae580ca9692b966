// ApiVersions (key 18): the first request on every connection; its response lists the
// version range of each API the broker speaks, which `negotiate()` (api.hpp) consumes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

struct api_versions_response {
  static constexpr api_key key = api_key::api_versions;

  struct supported_feature {  // v3+ tagged (KIP-584)
    std::string name;
    std::int16_t min_version = 0;
    std::int16_t max_version = 0;
  };
  struct finalized_feature {  // v3+ tagged (KIP-584)
    std::string name;
    std::int16_t max_version_level = 0;
    std::int16_t min_version_level = 0;
  };

  std::int16_t error_code = 0;
  std::vector<api_version_range> api_keys;
  std::int32_t throttle_time_ms = 0;                    // v1+
  std::vector<supported_feature> supported_features;    // tag 0, v3+
  std::optional<std::int64_t> finalized_features_epoch; // tag 1, v3+ (absent = -1)
  std::vector<finalized_feature> finalized_features;    // tag 2, v3+
  std::optional<bool> zk_migration_ready;               // tag 3, v3+ (KIP-866)

  void encode(writer& w, std::int16_t version) const;
  static result<api_versions_response> decode(reader& r, std::int16_t version);
};

struct api_versions_request {
  static constexpr api_key key = api_key::api_versions;
  using response_type = api_versions_response;

  /// v3+ (KIP-511). Brokers reject values outside [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
  std::string client_software_name;
  std::string client_software_version;  // v3+ (KIP-511)

  void encode(writer& w, std::int16_t version) const;
  static result<api_versions_request> decode(reader& r, std::int16_t version);
};

/// Decodes an ApiVersions response body (header v0 included). A broker that does not know our
/// request version answers UNSUPPORTED_VERSION in the v0 layout (KIP-511); this retries the
/// body as v0 in that case, so the caller can pick a version from the ranges it got.
result<api_versions_response> decode_api_versions_response(shared_bytes body,
                                                           std::int16_t version);

}  // namespace kb::protocol
