// An in-process fake target broker for restore engine tests: answers ApiVersions, Metadata,
// InitProducerId, ListOffsets and Produce from protocol/'s codecs on 127.0.0.1 (plaintext), with
// hooks choosing an error code per partition or holding a Produce response back for good.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "protocol/api_versions.hpp"
#include "protocol/header.hpp"
#include "protocol/init_producer_id.hpp"
#include "protocol/list_offsets.hpp"
#include "protocol/metadata.hpp"
#include "protocol/produce.hpp"
#include "protocol/records/record_batch.hpp"

namespace kb::pipeline::restore::testing {

/// Error code answered for a partition; `hold` leaves the whole Produce request unanswered.
inline constexpr std::int16_t hold = -1000;

struct fake_target_behavior {
  std::vector<std::pair<std::string, int>> topics;  ///< name, partition count (leader: node 1)
  std::function<std::int16_t(const std::string&, std::int32_t)> list_offsets_error;  ///< empty: 0
  std::function<std::int16_t(const std::string&, std::int32_t)> produce_error;       ///< empty: 0
};

class fake_target {
 public:
  fake_target(boost::asio::io_context& io, fake_target_behavior behavior)
      : io_(io),
        behavior_(std::move(behavior)),
        acceptor_(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    boost::asio::co_spawn(io, accept_loop(), boost::asio::detached);
  }

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] int produce_requests() const { return produce_requests_.load(); }
  /// Produce requests that carried no partition at all (a client should never send one).
  [[nodiscard]] int empty_produce_requests() const { return empty_produce_requests_.load(); }
  [[nodiscard]] int held() const { return held_.load(); }
  [[nodiscard]] int list_offsets_requests() const { return list_offsets_requests_.load(); }
  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& s : sessions_) s->close(ec);
  }

 private:
  using tcp = boost::asio::ip::tcp;
  static constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<void> accept_loop() {
    for (int i = 0; i < 100; ++i) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      sessions_.push_back(s);
      boost::asio::co_spawn(io_, serve(std::move(s)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> serve(std::shared_ptr<tcp::socket> s) {
    for (int guard = 0; guard < 100000; ++guard) {
      std::array<std::uint8_t, 4> prefix{};
      if (auto [ec, n] = co_await boost::asio::async_read(*s, boost::asio::buffer(prefix), use_tuple); ec) co_return;
      const auto size = protocol::peek_frame_size(prefix).value_or(-1);
      if (size < 0 || size > (64 << 20)) co_return;
      byte_vector body(static_cast<std::size_t>(size));
      if (auto [ec, n] = co_await boost::asio::async_read(*s, boost::asio::buffer(body), use_tuple); ec) co_return;
      auto frame = protocol::decode_request_frame(shared_bytes(std::move(body)));
      if (!frame) co_return;
      auto reply = answer(*frame);
      if (!reply) continue;
      if (auto [ec, n] = co_await boost::asio::async_write(*s, boost::asio::buffer(*reply), use_tuple); ec) co_return;
    }
  }

  std::int16_t error_for(const std::function<std::int16_t(const std::string&, std::int32_t)>& f,
                         const std::string& topic, std::int32_t partition) const {
    return f ? f(topic, partition) : std::int16_t{0};
  }

  std::optional<byte_vector> answer(const protocol::request_frame& frame) {
    const auto version = frame.header.version;
    const std::int32_t cid = frame.header.correlation_id;
    switch (frame.header.key) {
      case protocol::api_key::api_versions: {
        protocol::api_versions_response resp;
        for (const auto& api : protocol::supported_apis)
          resp.api_keys.push_back({static_cast<std::int16_t>(api.key), api.min_version, api.max_version});
        return protocol::encode_response(resp, version, cid);
      }
      case protocol::api_key::metadata: {
        auto req = protocol::decode_request<protocol::metadata_request>(frame);
        protocol::metadata_response resp;
        resp.brokers.push_back({1, "127.0.0.1", port(), std::nullopt});
        resp.cluster_id = "fake-target";
        resp.controller_id = 1;
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
            part.leader_id = 1;
            part.leader_epoch = 0;
            part.replica_nodes = {1};
            part.isr_nodes = {1};
            topic.partitions.push_back(part);
          }
          resp.topics.push_back(std::move(topic));
        }
        return protocol::encode_response(resp, version, cid);
      }
      case protocol::api_key::init_producer_id: {
        protocol::init_producer_id_response resp;
        resp.producer_id = 4242;
        resp.producer_epoch = 0;
        return protocol::encode_response(resp, version, cid);
      }
      case protocol::api_key::list_offsets: {
        ++list_offsets_requests_;
        auto req = protocol::decode_request<protocol::list_offsets_request>(frame);
        if (!req) return std::nullopt;
        protocol::list_offsets_response resp;
        for (const auto& t : req->topics) {
          protocol::list_offsets_response::topic rt;
          rt.name = t.name;
          for (const auto& p : t.partitions) {
            protocol::list_offsets_response::partition rp;
            rp.partition_index = p.partition_index;
            rp.error_code = error_for(behavior_.list_offsets_error, t.name, p.partition_index);
            rp.offset = rp.error_code == 0 ? ends_[{t.name, p.partition_index}] : -1;
            rt.partitions.push_back(rp);
          }
          resp.topics.push_back(std::move(rt));
        }
        return protocol::encode_response(resp, version, cid);
      }
      case protocol::api_key::produce: {
        ++produce_requests_;
        auto req = protocol::decode_request<protocol::produce_request>(frame);
        if (!req) return std::nullopt;
        if (req->topic_data.empty()) ++empty_produce_requests_;
        protocol::produce_response resp;
        for (const auto& t : req->topic_data) {
          protocol::produce_response::topic rt;
          rt.name = t.name;
          for (const auto& p : t.partition_data) {
            protocol::produce_response::partition rp;
            rp.index = p.index;
            rp.error_code = error_for(behavior_.produce_error, t.name, p.index);
            if (rp.error_code == hold) {
              ++held_;
              return std::nullopt;  // never answered: the client's request stays in flight
            }
            if (rp.error_code == 0 && p.records) {
              auto& end = ends_[{t.name, p.index}];
              rp.base_offset = end;
              if (auto h = protocol::record_batch_header::parse(*p.records)) end += h->records_count();
            }
            rt.partition_responses.push_back(rp);
          }
          resp.responses.push_back(std::move(rt));
        }
        return protocol::encode_response(resp, version, cid);
      }
      default: return std::nullopt;
    }
  }

  boost::asio::io_context& io_;
  fake_target_behavior behavior_;
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<tcp::socket>> sessions_;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> ends_;
  std::atomic<int> produce_requests_{0};
  std::atomic<int> empty_produce_requests_{0};
  std::atomic<int> held_{0};
  std::atomic<int> list_offsets_requests_{0};
};

}  // namespace kb::pipeline::restore::testing
