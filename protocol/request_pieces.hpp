// A request frame as owned header bytes plus borrowed byte views (Produce record batches), for a
// gather write that sends the batches from where they lie instead of copying them into the frame.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/header.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol {

/// `head` is the frame with the borrowed bytes left out; `splices` say where they go.
struct request_pieces {
  byte_vector head;
  std::vector<writer::splice> splices;  ///< ascending `at`; views the caller keeps alive

  /// The frame in order: slices of `head` alternating with the borrowed views (empty ones left out).
  [[nodiscard]] std::vector<byte_view> pieces() const {
    std::vector<byte_view> out;
    out.reserve(2 * splices.size() + 1);
    std::size_t from = 0;
    for (const auto& s : splices) {
      if (s.at > from) out.push_back(byte_view(head).subspan(from, s.at - from));
      out.push_back(s.bytes);
      from = s.at;
    }
    if (head.size() > from) out.push_back(byte_view(head).subspan(from));
    return out;
  }
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = head.size();
    for (const auto& s : splices) n += s.bytes.size();
    return n;
  }
};

/// encode_request (header.hpp) without copying NULLABLE_BYTES values (record batches): they stay
/// where they are, referenced by the result, and must outlive the send. Same errors.
template <class Request>
result<request_pieces> encode_request_pieces(const Request& req, std::int16_t version, std::int32_t correlation_id,
                                             std::string_view client_id) {
  writer w(256 + client_id.size());
  w.borrow_nullable_bytes();
  const std::size_t size_at = w.reserve_int32();
  encode_request_header(w, Request::key, version, correlation_id, client_id);
  req.encode(w, version);
  if (auto ok = w.status(fmt::format("cannot encode a {} v{} request", name(Request::key), version)); !ok) {
    return fail(std::move(ok.error()));
  }
  const std::size_t body = w.size() + w.borrowed_size() - 4;
  if (body > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    return fail(errc::invalid_argument, fmt::format("cannot encode a {} v{} request: {} bytes exceed a frame's 2 GiB",
                                                    name(Request::key), version, body));
  }
  w.patch_int32(size_at, static_cast<std::int32_t>(body));
  request_pieces out;
  out.splices = w.take_splices();
  out.head = w.take();
  return out;
}

}  // namespace kb::protocol
