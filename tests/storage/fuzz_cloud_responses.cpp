// libFuzzer target: what cloud endpoints answer — S3 and Azure Blob XML (list pages, multipart
// uploads, error bodies), STS XML, token and credential JSON (IMDS, Azure AD, GCS, the container
// endpoint, credential_process), the AWS shared files' INI and ISO 8601 times. A server (or a
// proxy in between) may send anything; each parser returns an error value, never crashes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "storage/aws_credentials.hpp"
#include "storage/aws_sts.hpp"
#include "storage/azure/ad_token.hpp"
#include "storage/azure/blob_response.hpp"
#include "storage/gcs/gcs_jwt.hpp"
#include "storage/s3_error.hpp"
#include "storage/s3_response.hpp"
#include "storage/utc_time.hpp"
#include "storage/xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace S = kb::storage;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 56);
  if (auto doc = S::xml::parse(text)) {
    (void)S::s3::parse_list_page(*doc, "");
    (void)S::s3::parse_list_page(*doc, "p/");
    (void)S::s3::parse_multipart_uploads(*doc);
  }
  (void)S::s3::parse_error_body(text);
  (void)S::parse_iso8601_utc(text);
  (void)S::s3::parse_size(text, "fuzz");
  (void)S::azure::parse_list_page(text, "p/");
  (void)S::azure::parse_error_body(text);
  (void)S::azure::parse_token_json(text, now, "fuzz");
  (void)S::gcs::parse_token_response(text, now, "fuzz");
  (void)S::gcs::parse_credentials_file(text, "fuzz");
  (void)S::parse_credentials_json(text, "fuzz");
  (void)S::parse_sts_response(200, text, "fuzz");
  (void)S::parse_sts_response(403, text, "fuzz");
  (void)S::parse_ini(text);
  (void)S::parse_iso8601(text);
  return 0;
}
