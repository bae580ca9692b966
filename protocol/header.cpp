#include "protocol/header.hpp"

namespace kb::protocol {

void encode_request_header(writer& w, api_key key, std::int16_t version,
                           std::int32_t correlation_id,
                           std::optional<std::string_view> client_id) {
  w.write_int16(static_cast<std::int16_t>(key));
  w.write_int16(version);
  w.write_int32(correlation_id);
  if (client_id) {
    w.write_string(*client_id);
  } else {
    w.write_int16(-1);
  }
  if (request_header_version(key, version) >= 2) w.write_empty_tagged_fields();
}

result<request_header> decode_request_header(reader& r) {
  request_header h;
  h.key = static_cast<api_key>(r.read_int16());
  h.version = r.read_int16();
  h.correlation_id = r.read_int32();
  h.client_id = r.read_nullable_string();
  if (request_header_version(h.key, h.version) >= 2) r.skip_tagged_fields();
  if (!r.ok()) return fail(r.to_error("RequestHeader"));
  return h;
}

void encode_response_header(writer& w, std::int32_t correlation_id, std::int16_t header_version) {
  w.write_int32(correlation_id);
  if (header_version >= 1) w.write_empty_tagged_fields();
}

result<response_header> decode_response_header(reader& r, std::int16_t header_version) {
  response_header h;
  h.correlation_id = r.read_int32();
  if (header_version >= 1) r.skip_tagged_fields();
  if (!r.ok()) return fail(r.to_error("ResponseHeader"));
  return h;
}

std::optional<std::int32_t> peek_correlation_id(byte_view body) noexcept {
  if (body.size() < 4) return std::nullopt;
  return static_cast<std::int32_t>((std::uint32_t{body[0]} << 24) | (std::uint32_t{body[1]} << 16) |
                                   (std::uint32_t{body[2]} << 8) | std::uint32_t{body[3]});
}

std::optional<std::int32_t> peek_frame_size(byte_view prefix) noexcept {
  return peek_correlation_id(prefix);  // same shape: one big-endian int32
}

namespace detail {
result<void> check_consumed(const reader& r, std::string_view what) {
  if (r.remaining() == 0) return {};
  return fail(make_error_code(wire_errc::malformed),
              fmt::format("{} left {} unread bytes: the broker answered in a layout this client "
                          "does not expect for the negotiated version",
                          what, r.remaining()));
}
}  // namespace detail

// NOLINTNEXTLINE(performance-unnecessary-value-param): by value in the header's API (a change there rebuilds every protocol user)
result<request_frame> decode_request_frame(shared_bytes frame) {
  reader r(frame);
  auto header = decode_request_header(r);
  if (!header) return fail(std::move(header.error()));
  const std::size_t at = r.position();
  return request_frame{std::move(*header), frame.slice(at, frame.size() - at)};
}

}  // namespace kb::protocol
