// Shared by the golden tests: loading Kafka-generated fixtures, hex, field comparison against
// Kafka's JSON, and the per-API decode/re-encode driver.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "protocol/header.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol::golden_fixture {

namespace json = boost::json;

inline const std::string golden_dir = KB_GOLDEN_DIR;

inline json::value load(const std::string& api) {
  std::ifstream in(golden_dir + "/messages/" + api + ".json");
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

inline byte_vector from_hex(std::string_view hex) {
  byte_vector out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

inline std::string to_hex(byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (const std::uint8_t x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

/// The first offset where two hex strings differ (for a readable failure).
inline std::string first_difference(const std::string& want, const std::string& got) {
  std::size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  return fmt::format("first difference at byte {}: kafka …{}… ours …{}…", i / 2,
                     want.substr(i, 24), got.substr(i, 24));
}

inline std::int64_t num(const json::value& v) { return v.to_number<std::int64_t>(); }
inline std::string str(const json::value& v) { return std::string(v.as_string()); }

/// Kafka's JSON form of a UUID: URL-safe base64 without padding.
inline std::string uuid_text(const uuid& id) {
  static constexpr char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const auto b : id.bytes) {
    acc = (acc << 8) | static_cast<std::uint8_t>(b);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += abc[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += abc[(acc << (6 - bits)) & 63];
  return out;
}

/// Field checks: each compares only when the version carries the field (the JSON holds exactly
/// the fields of that version).
inline void same(const json::object& j, std::string_view k, std::int64_t ours) {
  if (const auto* f = j.if_contains(k)) {
    if (f->is_bool()) {
      EXPECT_EQ(f->as_bool(), ours != 0) << k;
    } else {
      EXPECT_EQ(num(*f), ours) << k;
    }
  }
}
inline void same(const json::object& j, std::string_view k, const std::optional<std::string>& ours) {
  if (const auto* f = j.if_contains(k)) {
    if (f->is_null()) {
      EXPECT_FALSE(ours.has_value()) << k;
    } else {
      EXPECT_EQ(std::optional<std::string>(str(*f)), ours) << k;
    }
  }
}
inline void same(const json::object& j, std::string_view k, const std::string& ours) {
  same(j, k, std::optional<std::string>(ours));
}
inline void same(const json::object& j, std::string_view k, const uuid& ours) {
  if (const auto* f = j.if_contains(k)) {
    EXPECT_EQ(str(*f), uuid_text(ours)) << k;
  }
}
/// A bytes field: Kafka's JSON holds it as padded base64; compares the decoded bytes.
inline void same(const json::object& j, std::string_view k, const byte_vector& ours) {
  const auto* f = j.if_contains(k);
  if (f == nullptr) return;
  static constexpr std::string_view abc =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  byte_vector want;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : f->as_string()) {
    if (ch == '=') break;
    acc = (acc << 6) | static_cast<std::uint32_t>(abc.find(ch));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      want.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  EXPECT_EQ(want, ours) << k;
}
/// The JSON array `k` (empty when the version lacks it); checks its size against `n`.
inline const json::array& items(const json::object& j, std::string_view k, std::size_t n) {
  static const json::array none;
  const auto* f = j.if_contains(k);
  if (f == nullptr || f->is_null()) return none;
  EXPECT_EQ(f->as_array().size(), n) << k;
  return f->as_array();
}
/// Calls fn(json element, our element) for each pair of `k`.
template <class T, class F>
inline void each(const json::object& j, std::string_view k, const std::vector<T>& ours, F&& fn) {
  const json::array& a = items(j, k, ours.size());
  for (std::size_t i = 0; i < a.size() && i < ours.size(); ++i) {
    SCOPED_TRACE(testing::Message() << k << "[" << i << "]");
    if constexpr (std::is_arithmetic_v<T>) {
      EXPECT_EQ(num(a[i]), static_cast<std::int64_t>(ours[i]));
    } else if constexpr (std::is_same_v<T, std::string>) {
      EXPECT_EQ(str(a[i]), ours[i]);
    } else {
      fn(a[i].as_object(), ours[i]);
    }
  }
}
template <class T>
inline void each(const json::object& j, std::string_view k, const std::vector<T>& ours) {
  each(j, k, ours, [](const json::object&, const T&) {});
}

/// Decodes Kafka's request at `v`, re-encodes it, and hands the decoded message to `check`.
template <class Request, class Check>
inline void request_case(const json::object& c, std::int16_t v, Check&& check) {
  const byte_vector frame = from_hex(c.at("hex").as_string());
  auto split = decode_request_frame(shared_bytes(frame));
  ASSERT_TRUE(split) << split.error().message;
  EXPECT_EQ(split->header.version, v);
  EXPECT_EQ(split->header.correlation_id, num(c.at("correlation_id")));
  ASSERT_EQ(split->header.client_id, std::optional<std::string>("golden-client"));
  auto msg = decode_request<Request>(*split);
  ASSERT_TRUE(msg) << msg.error().message;
  check(*msg, c.at("fields").as_object());
  auto again = encode_request(*msg, v, static_cast<std::int32_t>(num(c.at("correlation_id"))),
                              "golden-client");
  ASSERT_TRUE(again) << again.error().message;
  const std::string want = to_hex(frame);
  const std::string got = to_hex(byte_view(*again).subspan(4));
  EXPECT_EQ(want, got) << first_difference(want, got);
}

template <class Response, class Check>
inline void response_case(const json::object& c, std::int16_t v, Check&& check) {
  const byte_vector body = from_hex(c.at("hex").as_string());
  EXPECT_EQ(response_header_version(Response::key, v), num(c.at("header_version")));
  auto msg = decode_response<Response>(shared_bytes(body), v);
  ASSERT_TRUE(msg) << msg.error().message;
  check(*msg, c.at("fields").as_object());
  const byte_vector again =
      encode_response(*msg, v, static_cast<std::int32_t>(num(c.at("correlation_id"))));
  const std::string want = to_hex(body);
  const std::string got = to_hex(byte_view(again).subspan(4));
  EXPECT_EQ(want, got) << first_difference(want, got);
}

/// Runs `request_case`/`response_case` for every version of our range, failing when the fixture
/// lacks one (the generator must cover the whole table).
template <class Request, class Response, class CheckReq, class CheckResp>
void check_api(CheckReq&& check_req, CheckResp&& check_resp) {
  const api_support* s = find_support(Request::key);
  ASSERT_NE(s, nullptr);
  const json::value file = load(std::string(s->name));
  ASSERT_EQ(num(file.at("api_key")), static_cast<std::int64_t>(Request::key));
  EXPECT_EQ(file.at("request").as_object().size(),
            static_cast<std::size_t>(s->max_version - s->min_version + 1));
  EXPECT_EQ(file.at("response").as_object().size(),
            static_cast<std::size_t>(s->max_version - s->min_version + 1));
  for (const std::string_view variant : {"", "_defaults"}) {
    const std::string req_name = std::string("request") + std::string(variant);
    const std::string resp_name = std::string("response") + std::string(variant);
    for (std::int16_t v = s->min_version; v <= s->max_version; ++v) {
      const std::string key = std::to_string(v);
      SCOPED_TRACE(testing::Message() << s->name << " v" << v << " " << req_name);
      const auto* req = file.at(req_name).as_object().if_contains(key);
      const auto* resp = file.at(resp_name).as_object().if_contains(key);
      ASSERT_NE(req, nullptr) << "no request fixture";
      ASSERT_NE(resp, nullptr) << "no response fixture";
      {
        SCOPED_TRACE("request");
        request_case<Request>(req->as_object(), v, check_req);
      }
      {
        SCOPED_TRACE("response");
        response_case<Response>(resp->as_object(), v, check_resp);
      }
    }
  }
}

}  // namespace kb::protocol::golden_fixture
