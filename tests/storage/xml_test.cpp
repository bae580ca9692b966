// ListObjectsV2 and error bodies as S3 documents them (Amazon S3 API Reference, ListObjectsV2
// "Response Syntax" and "Error responses").
#include "storage/xml.hpp"

#include <gtest/gtest.h>

namespace kb::storage::xml {
namespace {

constexpr std::string_view list_page = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix>prod/</Prefix>
  <KeyCount>2</KeyCount>
  <MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>prod/a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x4E2D;.kbs</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <!-- a comment -->
  <Contents>
    <Key><![CDATA[prod/raw<&>.kbs]]></Key>
    <Size>0</Size>
  </Contents>
  <CommonPrefixes><Prefix>prod/topics/</Prefix></CommonPrefixes>
</ListBucketResult>)";

TEST(Xml, ParsesAListObjectsV2Page) {
  auto doc = parse(list_page);
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->name, "ListBucketResult");
  EXPECT_EQ(doc->child_text("IsTruncated"), "true");
  EXPECT_EQ(doc->child_text("NextContinuationToken"), "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  const auto contents = doc->children_named("Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(contents[0]->child_text("Key"), "prod/a&b <c> \"d\" 'e' \xC3\xA9\xE4\xB8\xAD.kbs");
  EXPECT_EQ(contents[0]->child_text("ETag"), "\"fba9dede5f27731c9771645a39863328\"");
  EXPECT_EQ(contents[0]->child_text("Size"), "434234");
  EXPECT_EQ(contents[1]->child_text("Key"), "prod/raw<&>.kbs");
  ASSERT_NE(doc->child("CommonPrefixes"), nullptr);
  EXPECT_EQ(doc->child("CommonPrefixes")->child_text("Prefix"), "prod/topics/");
  EXPECT_EQ(doc->child("Missing"), nullptr);
  EXPECT_EQ(doc->child_text("Missing"), "");
}

TEST(Xml, ParsesAnErrorBody) {
  auto doc = parse(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>The request signature we calculated does not match the signature you provided."
      "</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->name, "Error");
  EXPECT_EQ(doc->child_text("Code"), "SignatureDoesNotMatch");
}

TEST(Xml, EmptyAndSelfClosingElements) {
  auto doc = parse("<a x=\"1>2\"><b/><c></c><d attr='q'>t</d></a>");
  ASSERT_TRUE(doc) << doc.error().message;
  ASSERT_EQ(doc->children.size(), 3u);
  EXPECT_EQ(doc->child_text("b"), "");
  EXPECT_EQ(doc->child_text("d"), "t");
}

TEST(Xml, NamespacePrefixesAreDropped) {
  auto doc = parse("<s3:Result xmlns:s3=\"x\"><s3:Key>k</s3:Key></s3:Result>");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->name, "Result");
  EXPECT_EQ(doc->child_text("Key"), "k");
}

TEST(Xml, RejectsMalformedDocuments) {
  for (std::string_view bad : {"", "text only", "<a>", "<a></b>", "<a><b></a></b>", "<a>&bogus;</a>",
                               "<a>&#0;</a>", "<a>&#xD800;</a>", "<a>&amp</a>", "<a/><b/>",
                               "<a><![CDATA[x</a>", "<a><!-- x</a>"}) {
    auto doc = parse(bad);
    EXPECT_FALSE(doc) << bad;
    if (!doc) {
      EXPECT_TRUE(doc.error().is(errc::protocol));
    }
  }
}

TEST(Xml, DeeplyNestedInputIsRefused) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "<a>";
  for (int i = 0; i < 200; ++i) deep += "</a>";
  EXPECT_FALSE(parse(deep));
}

TEST(Xml, EscapeRoundTrips) {
  const std::string text = "a&b<c>\"d\"'e'";
  EXPECT_EQ(escape(text), "a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;");
  auto decoded = decode_entities(escape(text));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, text);
}

}  // namespace
}  // namespace kb::storage::xml
