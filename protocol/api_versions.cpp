#include "protocol/api_versions.hpp"

#include "protocol/error_codes.hpp"
#include "protocol/header.hpp"
#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  if (v >= 3) {
    io(m.client_software_name);
    io(m.client_software_version);
  }
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  io(m.error_code);
  io.array(m.api_keys, [&](auto& k) {
    io(k.api_key);
    io(k.min_version);
    io(k.max_version);
    io.no_tags();
  });
  if (v >= 1) io(m.throttle_time_ms);
  io.tags([&](auto& tag) {
    tag(0, m.supported_features, [](auto& sub, auto& f) {
      sub(f.name);
      sub(f.min_version);
      sub(f.max_version);
      sub.no_tags();
    });
    tag(1, m.finalized_features_epoch);
    tag(2, m.finalized_features, [](auto& sub, auto& f) {
      sub(f.name);
      sub(f.max_version_level);
      sub(f.min_version_level);
      sub.no_tags();
    });
    tag(3, m.zk_migration_ready);
  });
}

}  // namespace

KB_PROTOCOL_CODEC(api_versions_request, serde_request, "ApiVersionsRequest")
KB_PROTOCOL_CODEC(api_versions_response, serde_response, "ApiVersionsResponse")

result<api_versions_response> decode_api_versions_response(shared_bytes body,
                                                           std::int16_t version) {
  auto first = decode_response<api_versions_response>(body, version);
  if (version == 0) return first;
  if (first && first->error_code != static_cast<std::int16_t>(error_code::unsupported_version))
    return first;
  auto v0 = decode_response<api_versions_response>(std::move(body), 0);
  if (v0) return v0;
  return first;
}

}  // namespace kb::protocol
