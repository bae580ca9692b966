// Golden bytes from Apache Kafka's own serializers (tests/protocol/golden/messages/*.json, written
// by golden/gen/GenGolden.java from the kafka-clients jar): for every API and version in
// supported_apis, our decoder reads Kafka's request and response bytes (header included), and our
// encoder writes exactly those bytes back. Field checks against the JSON sidecar catch what a
// byte-exact round trip cannot (two same-typed fields read in swapped order).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "protocol/api_versions.hpp"
#include "protocol/create_topics.hpp"
#include "protocol/delete_records.hpp"
#include "protocol/describe_configs.hpp"
#include "protocol/describe_groups.hpp"
#include "protocol/fetch.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/header.hpp"
#include "protocol/init_producer_id.hpp"
#include "protocol/list_groups.hpp"
#include "protocol/list_offsets.hpp"
#include "protocol/metadata.hpp"
#include "protocol/offset_commit.hpp"
#include "protocol/offset_fetch.hpp"
#include "protocol/produce.hpp"
#include "protocol/sasl_authenticate.hpp"
#include "protocol/sasl_handshake.hpp"

namespace kb::protocol {
namespace {

namespace json = boost::json;

const std::string golden_dir = KB_GOLDEN_DIR;

json::value load(const std::string& api) {
  std::ifstream in(golden_dir + "/messages/" + api + ".json");
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

byte_vector from_hex(std::string_view hex) {
  byte_vector out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string to_hex(byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (const std::uint8_t x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

/// The first offset where two hex strings differ (for a readable failure).
std::string first_difference(const std::string& want, const std::string& got) {
  std::size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  return fmt::format("first difference at byte {}: kafka …{}… ours …{}…", i / 2,
                     want.substr(i, 24), got.substr(i, 24));
}

std::int64_t num(const json::value& v) { return v.to_number<std::int64_t>(); }
[[maybe_unused]] std::string str(const json::value& v) { return std::string(v.as_string()); }

/// Decodes Kafka's request at `v`, re-encodes it, and hands the decoded message to `check`.
template <class Request, class Check>
void request_case(const json::object& c, std::int16_t v, Check&& check) {
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
void response_case(const json::object& c, std::int16_t v, Check&& check) {
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
void golden(CheckReq&& check_req, CheckResp&& check_resp) {
  const api_support* s = find_support(Request::key);
  ASSERT_NE(s, nullptr);
  const json::value file = load(std::string(s->name));
  ASSERT_EQ(num(file.at("api_key")), static_cast<std::int64_t>(Request::key));
  EXPECT_EQ(file.at("request").as_object().size(),
            static_cast<std::size_t>(s->max_version - s->min_version + 1));
  EXPECT_EQ(file.at("response").as_object().size(),
            static_cast<std::size_t>(s->max_version - s->min_version + 1));
  for (std::int16_t v = s->min_version; v <= s->max_version; ++v) {
    const std::string key = std::to_string(v);
    SCOPED_TRACE(testing::Message() << s->name << " v" << v);
    const auto* req = file.at("request").as_object().if_contains(key);
    const auto* resp = file.at("response").as_object().if_contains(key);
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

constexpr auto any = [](const auto&, const json::object&) {};

TEST(golden, produce) { golden<produce_request, produce_response>(any, any); }
TEST(golden, fetch) { golden<fetch_request, fetch_response>(any, any); }
TEST(golden, list_offsets) { golden<list_offsets_request, list_offsets_response>(any, any); }
TEST(golden, metadata) { golden<metadata_request, metadata_response>(any, any); }
TEST(golden, offset_commit) { golden<offset_commit_request, offset_commit_response>(any, any); }
TEST(golden, offset_fetch) { golden<offset_fetch_request, offset_fetch_response>(any, any); }
TEST(golden, find_coordinator) {
  golden<find_coordinator_request, find_coordinator_response>(any, any);
}
TEST(golden, describe_groups) {
  golden<describe_groups_request, describe_groups_response>(any, any);
}
TEST(golden, list_groups) { golden<list_groups_request, list_groups_response>(any, any); }
TEST(golden, sasl_handshake) { golden<sasl_handshake_request, sasl_handshake_response>(any, any); }
TEST(golden, api_versions) { golden<api_versions_request, api_versions_response>(any, any); }
TEST(golden, create_topics) { golden<create_topics_request, create_topics_response>(any, any); }
TEST(golden, delete_records) { golden<delete_records_request, delete_records_response>(any, any); }
TEST(golden, init_producer_id) {
  golden<init_producer_id_request, init_producer_id_response>(any, any);
}
TEST(golden, describe_configs) {
  golden<describe_configs_request, describe_configs_response>(any, any);
}
TEST(golden, sasl_authenticate) {
  golden<sasl_authenticate_request, sasl_authenticate_response>(any, any);
}

}  // namespace
}  // namespace kb::protocol
