// Test driver for the pytest cross-checks against kcat and confluent-kafka (tests/net/test_*.py):
// produces records with our encoder or fetches a partition with our client and prints JSON.
//
//   kb_net_probe fetch   --env ENV.json --topic T [--listener L] [--mechanism M --user U]
//                        [--isolation committed|uncommitted] [--partition N]
//   kb_net_probe produce --env ENV.json --topic T --codec none|gzip|snappy|lz4|zstd --input RECORDS.json
//                        [--listener L] [--mechanism M --user U] [--partition N]
// RECORDS.json: [{"key": str|null, "value": str|null, "timestamp": int, "headers": [[k, v|null], ...]}].
// Output: one JSON object on stdout; errors as {"error": message} with exit code 1.
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "net/connection.hpp"
#include "protocol/fetch.hpp"
#include "protocol/metadata.hpp"
#include "protocol/produce.hpp"
#include "protocol/records/record_batch.hpp"

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace kb;
using namespace std::chrono_literals;

template <class T>
result<T> run(asio::io_context& io, asio::awaitable<result<T>> task) {
  std::optional<result<T>> out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, result<T> r) {
    out = e ? result<T>(fail(errc::internal, "coroutine threw")) : std::move(r);
  });
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!out && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(20ms);
  }
  if (!out) return fail(errc::timeout, "task did not finish within 60 s");
  return std::move(*out);
}

std::string text(const json::value& root, std::initializer_list<const char*> path) {
  const json::value* v = &root;
  for (const char* key : path) {
    if (!v->is_object() || !v->as_object().contains(key)) return {};
    v = &v->as_object().at(key);
  }
  return v->is_string() ? std::string(v->as_string()) : std::string();
}

result<json::value> read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(errc::io, "cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(s.str(), ec);
  if (ec) return fail(errc::invalid_argument, path + " is not JSON");
  return v;
}

struct args {
  std::map<std::string, std::string> named;
  std::string get(const std::string& k, std::string def = {}) const {
    auto it = named.find(k);
    return it == named.end() ? def : it->second;
  }
};

result<std::shared_ptr<net::connection>> connect(asio::io_context& io, const json::value& env, const args& a) {
  const std::string listener = a.get("listener", "PLAINTEXT");
  const std::string hp = text(env, {"kafka", "listeners", listener.c_str()});
  const auto colon = hp.rfind(':');
  if (colon == std::string::npos) return fail(errc::config, "env.json lacks listener " + listener);
  net::connection_options opts;
  opts.client_id = "kb-net-probe";
  opts.protocol = listener == "PLAINTEXT"        ? net::security_protocol::plaintext
                  : listener == "SASL_PLAINTEXT" ? net::security_protocol::sasl_plaintext
                  : listener == "SASL_SSL"       ? net::security_protocol::sasl_ssl
                                                 : net::security_protocol::ssl;
  if (net::uses_tls(opts.protocol)) opts.tls.ca_location = text(env, {"tls", "ca"});
  if (listener == "MTLS") {
    opts.tls.certificate_location = text(env, {"tls", "client_cert"});
    opts.tls.key_location = text(env, {"tls", "client_key"});
  }
  if (net::uses_sasl(opts.protocol)) {
    const std::string user = a.get("user", "admin");
    opts.sasl = {a.get("mechanism", "SCRAM-SHA-512"), user, net::secret(text(env, {"users", user.c_str()}))};
  }
  auto conn = net::connection::create(io.get_executor(), hp.substr(0, colon),
                                      static_cast<std::uint16_t>(std::stoi(hp.substr(colon + 1))), std::move(opts));
  auto ok = run(io, conn->async_connect());
  if (!ok) return fail(std::move(ok.error()));
  return conn;
}

json::value nullable(const std::optional<byte_view>& b) {
  if (!b) return nullptr;
  return json::string(as_text(*b));
}

result<json::object> do_fetch(asio::io_context& io, net::connection& conn, const args& a) {
  const std::string topic = a.get("topic");
  const auto partition = static_cast<std::int32_t>(std::stoi(a.get("partition", "0")));
  const bool committed = a.get("isolation", "uncommitted") == "committed";
  protocol::uuid topic_id;
  {
    protocol::metadata_request md;
    md.topics = std::vector<protocol::metadata_request::topic>{{{}, topic}};
    md.allow_auto_topic_creation = false;
    auto m = run(io, conn.async_request(md));
    if (!m) return fail(std::move(m.error()));
    if (m->topics.size() != 1 || m->topics[0].error_code != 0)
      return fail(errc::broker, "metadata error for " + topic);
    topic_id = m->topics[0].topic_id;
  }
  json::array records;
  json::array batches;
  json::array aborted;
  json::object out;
  std::int64_t offset = 0;
  for (int round = 0; round < 100; ++round) {
    protocol::fetch_request req;
    req.max_wait_ms = 100;
    req.min_bytes = 1;
    req.max_bytes = 8 << 20;
    req.isolation = committed ? protocol::isolation_level::read_committed : protocol::isolation_level::read_uncommitted;
    protocol::fetch_request::topic t;
    t.topic = topic;
    t.topic_id = topic_id;
    t.partitions.push_back({partition, -1, offset, -1, -1, 4 << 20, {}});
    req.topics.push_back(std::move(t));
    auto resp = run(io, conn.async_request(req));
    if (!resp) return fail(std::move(resp.error()));
    if (resp->responses.size() != 1 || resp->responses[0].partitions.size() != 1)
      return fail(errc::protocol, "fetch response does not hold exactly our partition");
    const auto& p = resp->responses[0].partitions[0];
    if (p.error_code != 0) return fail(errc::broker, "fetch partition error " + std::to_string(p.error_code));
    out["high_watermark"] = p.high_watermark;
    out["last_stable_offset"] = p.last_stable_offset;
    out["log_start_offset"] = p.log_start_offset;
    out["aborted_transactions_null"] = !p.aborted_transactions.has_value();
    if (p.aborted_transactions)
      for (const auto& at : *p.aborted_transactions)
        aborted.push_back(json::object{{"producer_id", at.producer_id}, {"first_offset", at.first_offset}});
    // read_committed stops at the last stable offset, read_uncommitted at the high watermark.
    const std::int64_t end = committed ? p.last_stable_offset : p.high_watermark;
    if (p.records && !p.records->empty()) {
      auto split = protocol::split_batches(*p.records);
      if (!split) return fail(std::move(split.error()));
      for (auto& b : split->batches) {
        if (auto crc = protocol::check_batch_crc(b.bytes.view()); !crc) return fail(std::move(crc.error()));
        auto h = protocol::record_batch_header::parse(b.bytes.view());
        if (!h) return fail(std::move(h.error()));
        auto set = protocol::read_records(b.bytes);
        if (!set) return fail(std::move(set.error()));
        json::object jb{{"base_offset", h->base_offset()},
                        {"last_offset", b.last_offset},
                        {"codec", std::string(protocol::to_string(h->codec()))},
                        {"transactional", h->is_transactional()},
                        {"control", h->is_control()},
                        {"producer_id", h->producer_id()},
                        {"records", set->records.size()}};
        for (const auto& r : set->records) {
          if (h->is_control()) {
            auto marker = protocol::parse_control_record(r);
            if (!marker) return fail(std::move(marker.error()));
            jb["marker"] = marker->type == protocol::control_type::commit ? "commit" : "abort";
            jb["marker_offset"] = r.offset;
            continue;
          }
          if (r.offset < offset) continue;
          json::array headers;
          for (const auto& hd : r.headers)
            headers.push_back(json::array{json::string(as_text(hd.key)), nullable(hd.value)});
          records.push_back(json::object{{"offset", r.offset},
                                         {"timestamp", r.timestamp},
                                         {"key", nullable(r.key)},
                                         {"value", nullable(r.value)},
                                         {"headers", std::move(headers)},
                                         {"producer_id", h->producer_id()},
                                         {"transactional", h->is_transactional()}});
        }
        offset = std::max(offset, b.last_offset + 1);
        batches.push_back(std::move(jb));
      }
    }
    if (offset >= end) break;
  }
  out["records"] = std::move(records);
  out["batches"] = std::move(batches);
  out["aborted_transactions"] = std::move(aborted);
  out["fetch_version"] = conn.versions().find(protocol::api_key::fetch).value_or(-1);
  return out;
}

result<protocol::compression_codec> parse_codec(const std::string& name) {
  using protocol::compression_codec;
  for (auto c : {compression_codec::none, compression_codec::gzip, compression_codec::snappy, compression_codec::lz4,
                 compression_codec::zstd})
    if (protocol::to_string(c) == name) return c;
  return fail(errc::invalid_argument, "unknown codec " + name);
}

result<json::object> do_produce(asio::io_context& io, net::connection& conn, const args& a) {
  auto codec = parse_codec(a.get("codec", "none"));
  if (!codec) return fail(std::move(codec.error()));
  auto input = read_json(a.get("input"));
  if (!input) return fail(std::move(input.error()));
  if (!input->is_array()) return fail(errc::invalid_argument, "--input must hold a JSON array");
  // Keep every string alive while the builder holds views into them.
  std::vector<std::string> storage;
  storage.reserve(input->as_array().size() * 8);
  auto keep = [&](const json::value& v) -> std::optional<byte_view> {
    if (v.is_null()) return std::nullopt;
    storage.emplace_back(v.as_string());
    return as_bytes(storage.back());
  };
  protocol::record_batch_builder b({.codec = *codec});
  for (const auto& rv : input->as_array()) {
    const auto& r = rv.as_object();
    std::vector<protocol::record_header> headers;
    if (r.contains("headers"))
      for (const auto& hv : r.at("headers").as_array()) {
        const auto key = keep(hv.as_array().at(0));
        headers.push_back({*key, keep(hv.as_array().at(1))});
      }
    b.add(r.at("timestamp").to_number<std::int64_t>(), keep(r.at("key")), keep(r.at("value")), headers);
  }
  auto batch = b.build();
  if (!batch) return fail(std::move(batch.error()));
  protocol::produce_request req;
  req.acks = -1;
  req.timeout_ms = 20000;
  req.topic_data.push_back({a.get("topic"), {{std::stoi(a.get("partition", "0")), byte_view(*batch)}}});
  auto resp = run(io, conn.async_request(req));
  if (!resp) return fail(std::move(resp.error()));
  if (resp->responses.size() != 1 || resp->responses[0].partition_responses.size() != 1)
    return fail(errc::protocol, "produce response does not hold exactly our partition");
  const auto& p = resp->responses[0].partition_responses[0];
  if (p.error_code != 0) return fail(errc::broker, "produce error " + std::to_string(p.error_code));
  return json::object{{"base_offset", p.base_offset}, {"batch_bytes", batch->size()}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: kb_net_probe fetch|produce --env ENV.json --topic T ...\n";
    return 2;
  }
  const std::string verb = argv[1];
  args a;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) {
      std::cerr << "expected --name value pairs, got " << k << "\n";
      return 2;
    }
    a.named[k.substr(2)] = argv[i + 1];
  }
  auto env = read_json(a.get("env"));
  if (!env) {
    std::cout << json::serialize(json::object{{"error", env.error().message}}) << "\n";
    return 1;
  }
  asio::io_context io;
  auto conn = connect(io, *env, a);
  result<json::object> out = conn ? (verb == "fetch"     ? do_fetch(io, **conn, a)
                                     : verb == "produce" ? do_produce(io, **conn, a)
                                                         : result<json::object>(fail(errc::invalid_argument, "unknown verb " + verb)))
                                  : result<json::object>(fail(std::move(conn.error())));
  if (conn) (*conn)->close();
  if (!out) {
    std::cout << json::serialize(json::object{{"error", out.error().message}}) << "\n";
    return 1;
  }
  std::cout << json::serialize(*out) << "\n";
  return 0;
}
