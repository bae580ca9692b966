// Request/response headers and framing: which header version an API version uses, and
// helpers that turn a message into a size-prefixed frame and a response body back into a
// message. Frames exchanged with `net/` are bytes after the 4-byte size prefix ("body").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

/// RequestHeader v1 (client_id) or v2 (v1 + tagged fields, KIP-482).
struct request_header {
  api_key key{};
  std::int16_t version = 0;
  std::int32_t correlation_id = 0;
  std::optional<std::string> client_id;  ///< NULLABLE_STRING even in v2 (never compact)
};

/// ResponseHeader v0 (correlation_id) or v1 (v0 + tagged fields).
struct response_header {
  std::int32_t correlation_id = 0;
};

/// 2 for flexible API versions, else 1.
constexpr std::int16_t request_header_version(api_key key, std::int16_t version) noexcept {
  return is_flexible(key, version) ? 2 : 1;
}
/// 1 for flexible API versions, else 0 — except ApiVersions, whose response header is always
/// v0 so a client can parse it before knowing the broker's versions (KIP-511).
constexpr std::int16_t response_header_version(api_key key, std::int16_t version) noexcept {
  if (key == api_key::api_versions) return 0;
  return is_flexible(key, version) ? 1 : 0;
}

void encode_request_header(writer& w, api_key key, std::int16_t version,
                           std::int32_t correlation_id, std::optional<std::string_view> client_id);
/// Reads api key, version and correlation id, then the rest as the header version of that
/// API version requires (v1 for APIs this client does not know).
result<request_header> decode_request_header(reader& r);

void encode_response_header(writer& w, std::int32_t correlation_id, std::int16_t header_version);
result<response_header> decode_response_header(reader& r, std::int16_t header_version);

/// The correlation id at the start of a response body (after the size prefix), if present.
std::optional<std::int32_t> peek_correlation_id(byte_view body) noexcept;

/// The length announced by a 4-byte size prefix; nullopt until 4 bytes are there.
/// Negative lengths are reported as-is so the caller can reject them.
std::optional<std::int32_t> peek_frame_size(byte_view prefix) noexcept;

/// A size-prefixed request frame: int32 size, header, body. `version` must lie within our
/// table's range for Request::key (the caller got it from `negotiate`). errc::invalid_argument
/// when a field does not fit its wire type (e.g. a string over 32767 bytes): never truncated.
template <class Request>
result<byte_vector> encode_request(const Request& req, std::int16_t version, std::int32_t correlation_id,
                                   std::string_view client_id) {
  std::size_t reserve = 256 + client_id.size();
  if constexpr (requires { req.records_size(); }) reserve += req.records_size();  // Produce
  writer w(reserve);
  const std::size_t size_at = w.reserve_int32();
  encode_request_header(w, Request::key, version, correlation_id, client_id);
  req.encode(w, version);
  if (auto ok = w.status(fmt::format("cannot encode a {} v{} request", name(Request::key), version)); !ok) {
    return fail(std::move(ok.error()));
  }
  w.patch_int32(size_at, static_cast<std::int32_t>(w.size() - 4));
  return w.take();
}

/// A size-prefixed response frame (for fake brokers and tests).
template <class Response>
byte_vector encode_response(const Response& resp, std::int16_t version,
                            std::int32_t correlation_id) {
  writer w(256);
  const std::size_t size_at = w.reserve_int32();
  encode_response_header(w, correlation_id, response_header_version(Response::key, version));
  resp.encode(w, version);
  w.patch_int32(size_at, static_cast<std::int32_t>(w.size() - 4));
  return w.take();
}

namespace detail {
result<void> check_consumed(const reader& r, std::string_view what);
}

/// Decodes a response body (frame without the size prefix, starting at the header).
/// Byte fields (fetched records) are zero-copy slices of `body`. Trailing bytes are an error.
template <class Response>
result<Response> decode_response(shared_bytes body, std::int16_t version) {
  reader r(std::move(body));
  auto header = decode_response_header(r, response_header_version(Response::key, version));
  if (!header) return fail(std::move(header.error()));
  auto msg = Response::decode(r, version);
  if (!msg) return msg;
  if (auto done = detail::check_consumed(r, name(Response::key)); !done)
    return fail(std::move(done.error()));
  return msg;
}

/// A request as a broker sees it: header plus the body bytes that follow it.
struct request_frame {
  request_header header;
  shared_bytes body;
};
/// Splits a request frame (without the size prefix) into header and body.
result<request_frame> decode_request_frame(shared_bytes frame);

/// Decodes the body of a request frame as `Request` at the header's version.
template <class Request>
result<Request> decode_request(const request_frame& frame) {
  if (frame.header.key != Request::key)
    return fail(errc::protocol, fmt::format("expected a {} request, got API key {}",
                                            name(Request::key),
                                            static_cast<int>(frame.header.key)));
  reader r(frame.body);
  auto msg = Request::decode(r, frame.header.version);
  if (!msg) return msg;
  if (auto done = detail::check_consumed(r, name(Request::key)); !done)
    return fail(std::move(done.error()));
  return msg;
}

}  // namespace kb::protocol
