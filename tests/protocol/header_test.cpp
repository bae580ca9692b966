#include "protocol/header.hpp"

#include <gtest/gtest.h>

#include "protocol/api_versions.hpp"
#include "protocol/metadata.hpp"

namespace kb::protocol {
namespace {

// ApiVersionsRequest v3 from RequestHeader.json / ApiVersionsRequest.json by hand.
TEST(header_golden, api_versions_v3_request_frame) {
  api_versions_request req;
  req.client_software_name = "kafka-backup";
  req.client_software_version = "0.1.0";
  const byte_vector frame = encode_request(req, 3, 1, "kb").value();
  const byte_vector expected{
      0x00, 0x00, 0x00, 0x21,  // size 33 = 13 header + 20 body
      0x00, 0x12,              // RequestApiKey 18
      0x00, 0x03,              // RequestApiVersion 3
      0x00, 0x00, 0x00, 0x01,  // CorrelationId 1
      0x00, 0x02, 'k', 'b',    // ClientId: NULLABLE_STRING even in header v2
      0x00,                    // header v2 tagged fields: none
      0x0d, 'k', 'a', 'f', 'k', 'a', '-', 'b', 'a', 'c', 'k', 'u', 'p',  // COMPACT_STRING 12+1
      0x06, '0', '.', '1', '.', '0',                                     // COMPACT_STRING 5+1
      0x00,  // body tagged fields: none
  };
  EXPECT_EQ(frame, expected);

  auto parsed = decode_request_frame(shared_bytes(byte_vector(frame.begin() + 4, frame.end())));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->header.key, api_key::api_versions);
  EXPECT_EQ(parsed->header.version, 3);
  EXPECT_EQ(parsed->header.correlation_id, 1);
  EXPECT_EQ(parsed->header.client_id, "kb");
  auto back = decode_request<api_versions_request>(*parsed);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->client_software_name, "kafka-backup");
}

// MetadataRequest v1 (header v1, not flexible): null topics = all topics.
TEST(header_golden, metadata_v1_request_frame_all_topics) {
  metadata_request req;
  const byte_vector frame = encode_request(req, 1, 0x01020304, "c").value();
  const byte_vector expected{
      0x00, 0x00, 0x00, 0x0f,  // size 15
      0x00, 0x03, 0x00, 0x01,  // Metadata v1
      0x01, 0x02, 0x03, 0x04,  // CorrelationId
      0x00, 0x01, 'c',         // ClientId
      0xff, 0xff, 0xff, 0xff,  // Topics: null array (v1+ means all topics)
  };
  EXPECT_EQ(frame, expected);
}

// MetadataRequest v9 (first flexible): header v2, compact arrays.
TEST(header_golden, metadata_v9_request_frame_one_topic) {
  metadata_request req;
  req.topics.emplace().push_back({uuid{}, std::string("t")});
  req.allow_auto_topic_creation = false;
  const byte_vector frame = encode_request(req, 9, 7, "c").value();
  const byte_vector expected{
      0x00, 0x00, 0x00, 0x14,  // size 20
      0x00, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 'c',
      0x00,       // header tags
      0x02,       // Topics: compact array of 1
      0x02, 't',  //   Name: compact string
      0x00,       //   topic tags
      0x00,       // AllowAutoTopicCreation false
      0x00,       // IncludeClusterAuthorizedOperations (v8-10)
      0x00,       // IncludeTopicAuthorizedOperations
      0x00,       // body tags
  };
  EXPECT_EQ(frame, expected);
}

// ApiVersionsResponse v3: response header v0 (no tag byte, KIP-511), flexible body with a
// tagged FinalizedFeaturesEpoch (tag 1).
TEST(header_golden, api_versions_v3_response_uses_header_v0) {
  const byte_vector body{
      0x00, 0x00, 0x00, 0x05,  // CorrelationId 5, header v0: nothing else
      0x00, 0x00,              // ErrorCode
      0x03,                    // ApiKeys: compact array of 2
      0x00, 0x01, 0x00, 0x04, 0x00, 0x11, 0x00,  // Fetch 4..17, tags
      0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,  // ApiVersions 0..4, tags
      0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs
      0x01,                    // one tagged field
      0x01, 0x08,              // tag 1, 8 bytes
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,  // FinalizedFeaturesEpoch 42
  };
  EXPECT_EQ(peek_correlation_id(body), 5);
  auto resp = decode_response<api_versions_response>(shared_bytes(body), 3);
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_EQ(resp->api_keys.size(), 2u);
  EXPECT_EQ(resp->api_keys[0].api_key, 1);
  EXPECT_EQ(resp->api_keys[0].min_version, 4);
  EXPECT_EQ(resp->api_keys[0].max_version, 17);
  EXPECT_EQ(resp->finalized_features_epoch, 42);

  // And our encoder produces the same bytes (after the size prefix).
  const byte_vector frame = encode_response(*resp, 3, 5);
  EXPECT_EQ(byte_vector(frame.begin() + 4, frame.end()), body);
}

// A broker that does not know our ApiVersions version answers in the v0 layout (KIP-511).
TEST(header_golden, api_versions_unsupported_version_falls_back_to_v0) {
  const byte_vector body{
      0x00, 0x00, 0x00, 0x01,  // CorrelationId
      0x00, 0x23,              // ErrorCode 35 UNSUPPORTED_VERSION
      0x00, 0x00, 0x00, 0x01,  // ApiKeys: int32 array of 1 (v0 layout)
      0x00, 0x12, 0x00, 0x00, 0x00, 0x02,  // ApiVersions 0..2
  };
  auto resp = decode_api_versions_response(shared_bytes(body), 3);
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->error_code, 35);
  ASSERT_EQ(resp->api_keys.size(), 1u);
  EXPECT_EQ(resp->api_keys[0].max_version, 2);
}

TEST(header, truncated_and_trailing_bodies_fail) {
  const byte_vector body{0x00, 0x00, 0x00, 0x01, 0x00};  // header + half an ErrorCode
  auto short_resp = decode_response<api_versions_response>(shared_bytes(body), 0);
  ASSERT_FALSE(short_resp);
  EXPECT_EQ(short_resp.error().code, make_error_code(wire_errc::need_more));

  const byte_vector extra{0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99};
  auto long_resp = decode_response<api_versions_response>(shared_bytes(extra), 0);
  ASSERT_FALSE(long_resp);
  EXPECT_EQ(long_resp.error().code, make_error_code(wire_errc::malformed));

  EXPECT_FALSE(peek_correlation_id(byte_view(body).first(3)).has_value());
  EXPECT_EQ(peek_frame_size(byte_view(body).first(4)), 1);
}

TEST(header, decode_rejects_versions_outside_the_table) {
  reader r(shared_bytes(byte_vector{0, 0}));
  auto m = metadata_response::decode(r, 99);
  ASSERT_FALSE(m);
  EXPECT_TRUE(m.error().is(errc::unsupported));
}

// A topic name or client id longer than a STRING holds is refused, never sent with a wrong length.
TEST(header_limits, encode_request_refuses_a_string_over_32767_bytes) {
  for (const std::int16_t version : {1, 9}) {  // STRING and COMPACT_STRING
    metadata_request req;
    req.topics.emplace().push_back({uuid{}, std::string(40000, 't')});
    auto frame = encode_request(req, version, 1, "c");
    ASSERT_FALSE(frame) << "v" << version;
    EXPECT_TRUE(frame.error().is(errc::invalid_argument));
    EXPECT_NE(frame.error().message.find("Metadata"), std::string::npos) << frame.error().message;
    EXPECT_NE(frame.error().message.find("40000 bytes"), std::string::npos) << frame.error().message;
  }
  metadata_request req;
  auto frame = encode_request(req, 1, 1, std::string(33000, 'c'));
  ASSERT_FALSE(frame);
  EXPECT_NE(frame.error().message.find("33000 bytes"), std::string::npos) << frame.error().message;
}

}  // namespace
}  // namespace kb::protocol
