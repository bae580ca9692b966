#include "storage/azure/blob_response.hpp"

#include <gtest/gtest.h>

#include "base/base64.hpp"

namespace {

using namespace kb::storage::azure;

// The shape the Blob service documents for List Blobs (trimmed), with a delimiter.
constexpr std::string_view page = R"(<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="c">
  <Prefix>p/</Prefix><MaxResults>2</MaxResults>
  <Blobs>
    <Blob><Name>p/a&amp;b.kbs</Name><Properties><Content-Length>12</Content-Length><Etag>"0x8D1"</Etag></Properties></Blob>
    <Blob><Name>p/z</Name><Properties><Content-Length>0</Content-Length><Etag>0x8D2</Etag></Properties></Blob>
    <BlobPrefix><Name>p/dir/</Name></BlobPrefix>
  </Blobs>
  <NextMarker>2!8!cC96</NextMarker>
</EnumerationResults>)";

TEST(AzureListPage, BlobsPrefixesAndMarker) {
  auto r = parse_list_page(page, "p/");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->blobs.size(), 2u);
  EXPECT_EQ(r->blobs[0].key, "a&b.kbs");
  EXPECT_EQ(r->blobs[0].size, 12u);
  EXPECT_EQ(r->blobs[0].etag, "0x8D1");
  EXPECT_EQ(r->blobs[1].key, "z");
  ASSERT_EQ(r->prefixes.size(), 1u);
  EXPECT_EQ(r->prefixes[0], "dir/");
  EXPECT_EQ(r->next_marker, "2!8!cC96");
}

TEST(AzureListPage, LastPageAndMalformed) {
  auto last = parse_list_page("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>", "");
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->next_marker.empty());
  EXPECT_TRUE(last->blobs.empty());
  auto no_size = parse_list_page(
      "<EnumerationResults><Blobs><Blob><Name>x</Name><Properties/></Blob></Blobs></EnumerationResults>", "");
  ASSERT_FALSE(no_size);
  EXPECT_TRUE(no_size.error().is(kb::errc::protocol));
  EXPECT_FALSE(parse_list_page("<Error/>", ""));
}

TEST(AzureErrorBody, FirstLineOfMessage) {
  auto e = parse_error_body(
      "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the "
      "request.\nRequestId:1\nTime:2</Message></Error>");
  EXPECT_EQ(e.code, "AuthenticationFailed");
  EXPECT_EQ(e.message, "Server failed to authenticate the request.");
  EXPECT_TRUE(parse_error_body("not xml").code.empty());
}

TEST(AzureBlocks, IdsHaveOneLengthAndTheListKeepsOrder) {
  const auto a = block_id("0123456789abcdef", 0);
  const auto b = block_id("short", 12345);
  EXPECT_EQ(a.size(), b.size());
  auto raw = kb::base64_decode(b);
  ASSERT_TRUE(raw);
  EXPECT_EQ(std::string(raw->begin(), raw->end()), "short0000000000000012345");
  EXPECT_EQ(block_list_xml({"QQ==", "Qg=="}),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>QQ==</Latest><Latest>Qg==</Latest>"
            "</BlockList>");
}

}  // namespace
