// Template bodies of net/connection.hpp (included at its end; not for direct inclusion).
#pragma once

#include <fmt/format.h>

#include "net/connection.hpp"

namespace kb::net {

template <class Request>
boost::asio::awaitable<result<typename Request::response_type>> connection::async_request(
    Request req, std::optional<std::chrono::milliseconds> timeout) {
  auto version = versions_.get(Request::key);
  if (!version) co_return fail(version.error().code, "broker " + broker_ + ": " + version.error().message);
  co_return co_await async_request_at(std::move(req), *version, timeout);
}

template <class Request>
boost::asio::awaitable<result<typename Request::response_type>> connection::async_request_at(
    Request req, std::int16_t version, std::optional<std::chrono::milliseconds> timeout) {
  if (auto ready = co_await async_before_send(); !ready) co_return fail(std::move(ready.error()));
  co_return co_await async_call(req, version, timeout.value_or(opts_.request_timeout));
}

template <class Request>
boost::asio::awaitable<result<typename Request::response_type>> connection::async_call(
    const Request& req, std::int16_t version, std::chrono::milliseconds timeout) {
  using response = typename Request::response_type;
  bool expect_response = true;
  if constexpr (requires { req.acks; }) expect_response = req.acks != 0;  // Produce acks=0: no response
  const std::int32_t correlation_id = next_correlation_id();
  outgoing out;
  out.sensitive = Request::key == protocol::api_key::sasl_authenticate;
  bool gathered = false;
  if constexpr (requires { req.keep_alive; }) {
    // With a response to wait for the batches' owner can be held until the write is done; acks=0
    // sends return at once, so they keep copying.
    if (req.keep_alive && expect_response) {
      auto pieces = protocol::encode_request_pieces(req, version, correlation_id, opts_.client_id);
      if (!pieces) co_return fail(std::move(pieces.error()));
      out.frame = std::move(pieces->head);
      out.splices = std::move(pieces->splices);
      out.keep_alive = req.keep_alive;
      gathered = true;
    }
  }
  if (!gathered) {
    auto frame = protocol::encode_request(req, version, correlation_id, opts_.client_id);
    if (!frame) co_return fail(std::move(frame.error()));
    out.frame = std::move(*frame);
  }
  auto body = co_await async_exchange(std::move(out), correlation_id, protocol::name(Request::key), timeout,
                                      expect_response);
  if (!body) co_return fail(std::move(body.error()));
  if (!expect_response) co_return response{};
  auto decoded = protocol::decode_response<response>(std::move(*body), version);
  if (!decoded)
    co_return fail(errc::protocol, fmt::format("broker {} sent a {} v{} response this client cannot decode: {}",
                                               broker_, protocol::name(Request::key), version,
                                               decoded.error().message));
  if constexpr (requires { decoded->throttle_time_ms; }) note_throttle(decoded->throttle_time_ms);
  co_return decoded;
}

}  // namespace kb::net
