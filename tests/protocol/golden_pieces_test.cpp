// Golden bytes for the gathered Produce request: a request encoded as owned header bytes plus
// borrowed record views must join to exactly the frame Apache Kafka's serializers wrote, at every
// Produce version we send, with the record pieces pointing at the caller's bytes (no copy).
#include "tests/protocol/golden_common.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/produce.hpp"
#include "protocol/request_pieces.hpp"

namespace kb::protocol {
namespace {

using namespace golden_fixture;

using J = json::object;

// The gather-write encoding (head + borrowed record views) concatenates to exactly the frame
// Kafka's own serializer wrote, at every version we send, and the records are not copied.
TEST(golden, produce_pieces_concatenate_to_kafkas_frame) {
  const api_support* s = find_support(api_key::produce);
  ASSERT_NE(s, nullptr);
  const json::value file = load(std::string(s->name));
  int checked = 0;
  for (const std::string_view variant : {"request", "request_defaults"}) {
    for (std::int16_t v = s->min_version; v <= s->max_version; ++v) {
      SCOPED_TRACE(testing::Message() << variant << " v" << v);
      const J& c = file.at(variant).as_object().at(std::to_string(v)).as_object();
      const byte_vector frame = from_hex(c.at("hex").as_string());
      auto split = decode_request_frame(shared_bytes(frame));
      ASSERT_TRUE(split) << split.error().message;
      auto msg = decode_request<produce_request>(*split);
      ASSERT_TRUE(msg) << msg.error().message;
      auto enc = encode_request_pieces(*msg, v, static_cast<std::int32_t>(num(c.at("correlation_id"))),
                                       "golden-client");
      ASSERT_TRUE(enc) << enc.error().message;
      byte_vector joined;
      std::vector<const std::uint8_t*> starts;
      for (const byte_view p : enc->pieces()) {
        EXPECT_FALSE(p.empty());
        starts.push_back(p.data());
        joined.insert(joined.end(), p.begin(), p.end());
      }
      EXPECT_EQ(joined.size(), enc->size());
      ASSERT_GE(joined.size(), 4u);
      EXPECT_EQ(peek_frame_size(joined), static_cast<std::int32_t>(joined.size() - 4));
      const std::string want = to_hex(frame);
      const std::string got = to_hex(byte_view(joined).subspan(4));
      EXPECT_EQ(want, got) << first_difference(want, got);
      // Each non-empty record batch is a piece of its own, pointing at the decoded bytes.
      std::size_t borrowed = 0;
      for (const auto& t : msg->topic_data) {
        for (const auto& p : t.partition_data) {
          if (!p.records || p.records->empty()) continue;
          ++borrowed;
          EXPECT_NE(std::find(starts.begin(), starts.end(), p.records->data()), starts.end());
        }
      }
      EXPECT_EQ(enc->splices.size(), borrowed);
      EXPECT_EQ(enc->head.size() + msg->records_size(), enc->size());
      if (variant == "request") {
        EXPECT_GT(borrowed, 0u);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2 * (s->max_version - s->min_version + 1));
}

}  // namespace
}  // namespace kb::protocol
