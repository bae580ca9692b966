// Canned S3 responses: HeadObject headers and ListObjectsV2 / ListMultipartUploads pages. A size
// that is missing or unreadable is a malformed response, never a silent 0.
#include "storage/s3_response.hpp"

#include <gtest/gtest.h>

namespace kb::storage::s3 {
namespace {

TEST(S3Head, ReadsContentLengthAndEtag) {
  auto meta = parse_head({{"content-length", "434234"}, {"etag", "\"fba9\""}}, "'k' in s3://b/");
  ASSERT_TRUE(meta) << meta.error().message;
  EXPECT_EQ(meta->size, 434234u);
  EXPECT_EQ(meta->etag, "fba9");
}

TEST(S3Head, MissingOrBadContentLengthIsMalformed) {
  for (const headers& h : {headers{{"etag", "\"x\""}}, headers{{"content-length", ""}},
                           headers{{"content-length", "12abc"}}, headers{{"content-length", "-1"}},
                           headers{{"content-length", "99999999999999999999999"}}}) {
    auto meta = parse_head(h, "'seg.kbs' in s3://b/p/");
    ASSERT_FALSE(meta);
    EXPECT_TRUE(meta.error().is(errc::protocol)) << meta.error().message;
    EXPECT_NE(meta.error().message.find("malformed S3 response"), std::string::npos) << meta.error().message;
    EXPECT_NE(meta.error().message.find("'seg.kbs' in s3://b/p/"), std::string::npos) << meta.error().message;
  }
}

TEST(S3List, ReadsSizesAndSkipsForeignKeys) {
  auto page = xml::parse(R"(<ListBucketResult><Contents><Key>p/a</Key><Size>5</Size><ETag>"e1"</ETag></Contents>
    <Contents><Key>other/b</Key></Contents><Contents><Key>p/c</Key><Size>0</Size></Contents></ListBucketResult>)");
  ASSERT_TRUE(page);
  auto entries = parse_list_page(*page, "p/");
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0], (object_info{"a", 5, "e1"}));
  EXPECT_EQ((*entries)[1], (object_info{"c", 0, ""}));
}

TEST(S3List, MissingOrBadSizeIsMalformed) {
  for (const char* doc : {"<ListBucketResult><Contents><Key>p/a</Key></Contents></ListBucketResult>",
                          "<ListBucketResult><Contents><Key>p/a</Key><Size>1e3</Size></Contents></ListBucketResult>"}) {
    auto page = xml::parse(doc);
    ASSERT_TRUE(page);
    auto entries = parse_list_page(*page, "p/");
    ASSERT_FALSE(entries) << doc;
    EXPECT_TRUE(entries.error().is(errc::protocol));
    EXPECT_NE(entries.error().message.find("<Size> of 'p/a'"), std::string::npos) << entries.error().message;
  }
}

TEST(S3MultipartUploads, ReadsUploadsAndTheirStartTimes) {
  auto page = xml::parse(R"(<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated>
    <Upload><Key>p/id/topics/t/0/x.kbs</Key><UploadId>u-1</UploadId><Initiated>2026-12-06T18:25:10.250Z</Initiated></Upload>
    <Upload><Key>p/id/y</Key><UploadId>u-2</UploadId><Initiated>2026-12-06T18:25:11Z</Initiated></Upload>
    </ListMultipartUploadsResult>)");
  ASSERT_TRUE(page);
  auto uploads = parse_multipart_uploads(*page);
  ASSERT_TRUE(uploads) << uploads.error().message;
  ASSERT_EQ(uploads->size(), 2u);
  EXPECT_EQ((*uploads)[0].key, "p/id/topics/t/0/x.kbs");
  EXPECT_EQ((*uploads)[0].upload_id, "u-1");
  const auto t0 = std::chrono::system_clock::from_time_t(1796581510);  // 2026-12-06T18:25:10Z
  EXPECT_EQ((*uploads)[0].initiated, t0 + std::chrono::milliseconds(250));
  EXPECT_EQ((*uploads)[1].initiated, t0 + std::chrono::seconds(1));

  auto bad = xml::parse("<R><Upload><Key>k</Key><UploadId>u</UploadId><Initiated>yesterday</Initiated></Upload></R>");
  ASSERT_TRUE(bad);
  auto parsed = parse_multipart_uploads(*bad);
  ASSERT_FALSE(parsed);
  EXPECT_TRUE(parsed.error().is(errc::protocol));
}

}  // namespace
}  // namespace kb::storage::s3
