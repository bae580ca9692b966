// An in-process fake Kafka broker for net unit tests: an Asio acceptor on 127.0.0.1 (plain or
// TLS) answering ApiVersions, SaslHandshake and SaslAuthenticate (PLAIN) from protocol/'s
// codecs, with knobs to drop the connection, stay silent, reorder answers, or send bad frames.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "protocol/api_versions.hpp"
#include "protocol/header.hpp"
#include "protocol/metadata.hpp"
#include "protocol/sasl_authenticate.hpp"
#include "protocol/sasl_handshake.hpp"

namespace kb::net::testing {

struct fake_behavior {
  std::vector<std::string> mechanisms{"PLAIN"};
  std::string user = "backup";
  std::string password = "good-password";
  std::int64_t session_lifetime_ms = 0;
  std::int32_t throttle_ms = 0;      ///< throttle_time_ms in every ApiVersions response
  int drop_at_request = -1;          ///< close the connection when request #n (0-based) arrives
  bool drop_with_reset = false;      ///< drop with a TCP reset (SO_LINGER 0), as a network fault does
  int silent_at_request = -1;        ///< never answer request #n
  bool swap_first_two_user_requests = false;  ///< answer the 2nd ApiVersions after auth before the 1st
  bool wrong_correlation_id = false; ///< answer the first request after auth with a made-up id
  bool oversized_frame = false;      ///< answer the first request after auth with a 2 GiB size prefix
  std::shared_ptr<boost::asio::ssl::context> tls;  ///< serve TLS with this context
  bool never_speak = false;          ///< accept and then read nothing, write nothing
  int stop_reading_at_request = -1;  ///< read nothing more once n requests arrived (the client's writes stall)
  bool drop_only_first_session = false;  ///< drop_at_request applies to the first connection only
  int drop_sessions_until = 0;       ///< connections #1 .. #n-1 are closed at their first request
  std::vector<std::pair<std::string, int>> topics;  ///< Metadata: topic name, partition count (leader: node 1)
  std::int32_t node_id = 1;
  std::int16_t api_versions_max = 4;  ///< higher ApiVersions requests get UNSUPPORTED_VERSION (KIP-511)
};

class fake_broker {
 public:
  fake_broker(boost::asio::io_context& io, fake_behavior behavior)
      : io_(io),
        behavior_(std::move(behavior)),
        acceptor_(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    boost::asio::co_spawn(io, accept_loop(), boost::asio::detached);
  }

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] int sessions() const { return sessions_; }
  /// How many ApiVersions requests were answered successfully at `version`.
  [[nodiscard]] int api_versions_answered(std::int16_t version) const {
    auto it = api_versions_seen_.find(version);
    return it == api_versions_seen_.end() ? 0 : it->second;
  }
  [[nodiscard]] int count(protocol::api_key key) const {
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
  }
  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

 private:
  using tcp = boost::asio::ip::tcp;
  static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

  struct session {
    explicit session(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::unique_ptr<boost::asio::ssl::stream<tcp::socket&>> tls;
    int index = 0;  ///< which accepted connection this is
    int requests = 0;
    int user_requests = 0;  ///< ApiVersions after authentication (or after the first, without SASL)
    bool authenticated = false;
    std::optional<byte_vector> held;  ///< a response kept back for swap_first_two_user_requests

    template <class Buffers>
    boost::asio::awaitable<boost::system::error_code> read(const Buffers& b) {
      if (tls) {
        auto [ec, n] = co_await boost::asio::async_read(*tls, b, use_tuple);
        co_return ec;
      }
      auto [ec, n] = co_await boost::asio::async_read(socket, b, use_tuple);
      co_return ec;
    }
    boost::asio::awaitable<boost::system::error_code> write(const byte_vector& bytes) {
      if (tls) {
        auto [ec, n] = co_await boost::asio::async_write(*tls, boost::asio::buffer(bytes), use_tuple);
        co_return ec;
      }
      auto [ec, n] = co_await boost::asio::async_write(socket, boost::asio::buffer(bytes), use_tuple);
      co_return ec;
    }
  };

  boost::asio::awaitable<void> accept_loop() {
    for (int i = 0; i < 100; ++i) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      auto s = std::make_shared<session>(std::move(socket));
      s->index = sessions_++;
      boost::asio::co_spawn(io_, serve(std::move(s)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> serve(std::shared_ptr<session> s) {
    if (behavior_.never_speak) {
      std::array<std::uint8_t, 1> byte{};
      boost::asio::steady_timer wait(io_);
      wait.expires_after(std::chrono::seconds(10));
      co_await wait.async_wait(use_tuple);
      (void)byte;
      co_return;
    }
    if (behavior_.tls) {
      s->tls = std::make_unique<boost::asio::ssl::stream<tcp::socket&>>(s->socket, *behavior_.tls);
      auto [ec] = co_await s->tls->async_handshake(boost::asio::ssl::stream_base::server, use_tuple);
      if (ec) co_return;
    }
    for (int guard = 0; guard < 10000; ++guard) {
      if (s->requests == behavior_.stop_reading_at_request) {
        boost::asio::steady_timer wait(io_);
        wait.expires_after(std::chrono::seconds(10));
        co_await wait.async_wait(use_tuple);
        co_return;
      }
      std::array<std::uint8_t, 4> prefix{};
      if (co_await s->read(boost::asio::buffer(prefix))) co_return;
      const auto size = protocol::peek_frame_size(prefix).value_or(-1);
      if (size < 0 || size > (1 << 24)) co_return;
      byte_vector body(static_cast<std::size_t>(size));
      if (co_await s->read(boost::asio::buffer(body))) co_return;
      auto frame = protocol::decode_request_frame(shared_bytes(std::move(body)));
      if (!frame) co_return;
      const int index = s->requests++;
      ++counts_[frame->header.key];
      const bool refused = index == 0 && s->index > 0 && s->index < behavior_.drop_sessions_until;
      if (refused || (index == behavior_.drop_at_request && (!behavior_.drop_only_first_session || s->index == 0))) {
        boost::system::error_code ignored;
        if (behavior_.drop_with_reset) s->socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
        s->socket.close(ignored);
        co_return;
      }
      if (index == behavior_.silent_at_request) continue;
      auto reply = answer(*s, *frame);
      if (!reply) continue;
      if (co_await s->write(*reply)) co_return;
      if (s->held && s->user_requests == 2) {
        byte_vector held = std::move(*s->held);
        s->held.reset();
        if (co_await s->write(held)) co_return;
      }
    }
  }

  std::optional<byte_vector> answer(session& s, const protocol::request_frame& frame) {
    const auto version = frame.header.version;
    std::int32_t cid = frame.header.correlation_id;
    switch (frame.header.key) {
      case protocol::api_key::api_versions: {
        protocol::api_versions_response resp;
        for (const auto& api : protocol::supported_apis)
          resp.api_keys.push_back({static_cast<std::int16_t>(api.key), api.min_version,
                                   api.key == protocol::api_key::api_versions ? behavior_.api_versions_max
                                                                               : api.max_version});
        if (version > behavior_.api_versions_max) {
          // KIP-511: answer an unknown version with UNSUPPORTED_VERSION in the v0 layout.
          resp.error_code = 35;
          return protocol::encode_response(resp, 0, cid);
        }
        ++api_versions_seen_[version];
        auto req = protocol::decode_request<protocol::api_versions_request>(frame);
        resp.throttle_time_ms = behavior_.throttle_ms;
        const bool user = s.authenticated || (behavior_.mechanisms.empty() && s.requests > 1);
        if (user) {
          ++s.user_requests;
          // Echo the client's software name so the test can check which answer it got.
          if (req) resp.supported_features.push_back({req->client_software_name, 0, 1});
          if (behavior_.wrong_correlation_id) cid += 1000;
          if (behavior_.oversized_frame) return byte_vector{0x7f, 0xff, 0xff, 0xff};
        }
        auto bytes = protocol::encode_response(resp, version, cid);
        if (user && behavior_.swap_first_two_user_requests && s.user_requests == 1) {
          s.held = std::move(bytes);
          return std::nullopt;
        }
        return bytes;
      }
      case protocol::api_key::sasl_handshake: {
        auto req = protocol::decode_request<protocol::sasl_handshake_request>(frame);
        protocol::sasl_handshake_response resp;
        resp.mechanisms = behavior_.mechanisms;
        bool known = false;
        for (const auto& m : behavior_.mechanisms) known = known || (req && req->mechanism == m);
        resp.error_code = known ? 0 : 33;  // UNSUPPORTED_SASL_MECHANISM
        return protocol::encode_response(resp, version, cid);
      }
      case protocol::api_key::sasl_authenticate: {
        auto req = protocol::decode_request<protocol::sasl_authenticate_request>(frame);
        protocol::sasl_authenticate_response resp;
        std::string expected;
        expected.push_back('\0');
        expected += behavior_.user;
        expected.push_back('\0');
        expected += behavior_.password;
        if (req && std::string(req->auth_bytes.begin(), req->auth_bytes.end()) == expected) {
          s.authenticated = true;
          resp.session_lifetime_ms = behavior_.session_lifetime_ms;
        } else {
          resp.error_code = 58;  // SASL_AUTHENTICATION_FAILED, text as Apache Kafka words it
          resp.error_message = "Authentication failed: Invalid username or password";
        }
        return protocol::encode_response(resp, version, cid);
      }
      case protocol::api_key::metadata: {
        auto req = protocol::decode_request<protocol::metadata_request>(frame);
        protocol::metadata_response resp;
        resp.brokers.push_back({behavior_.node_id, "127.0.0.1", port(), std::nullopt});
        resp.cluster_id = "fake-cluster";
        resp.controller_id = behavior_.node_id;
        for (const auto& [name, count] : behavior_.topics) {
          bool wanted = !req || !req->topics;
          if (req && req->topics)
            for (const auto& t : *req->topics) wanted = wanted || (t.name && *t.name == name);
          if (!wanted) continue;
          protocol::metadata_response::topic topic;
          topic.name = name;
          for (int p = 0; p < count; ++p) {
            protocol::metadata_response::partition part;
            part.partition_index = p;
            part.leader_id = behavior_.node_id;
            part.leader_epoch = 0;
            part.replica_nodes = {behavior_.node_id};
            part.isr_nodes = {behavior_.node_id};
            topic.partitions.push_back(part);
          }
          resp.topics.push_back(std::move(topic));
        }
        return protocol::encode_response(resp, version, cid);
      }
      default: return std::nullopt;
    }
  }

  boost::asio::io_context& io_;
  fake_behavior behavior_;
  tcp::acceptor acceptor_;
  std::map<protocol::api_key, int> counts_;
  int sessions_ = 0;
  std::map<std::int16_t, int> api_versions_seen_;
};

}  // namespace kb::net::testing
