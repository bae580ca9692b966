#include "storage/s3_error.hpp"

#include <fmt/format.h>

#include "storage/xml.hpp"

namespace kb::storage::s3 {
namespace {

/// The hint for a refused request, by error code.
std::string credential_hint(std::string_view code) {
  if (code == "RequestTimeTooSkewed") {
    return "the local clock is more than 15 minutes off the server's; fix the clock (NTP)";
  }
  if (code == "ExpiredToken" || code == "InvalidToken") {
    return "the session token is expired or unknown to the server: renew the temporary credentials "
           "(storage.credentials names the source)";
  }
  if (code == "SignatureDoesNotMatch") {
    return "the secret key does not match the access key: check AWS_SECRET_ACCESS_KEY / storage.secret_key";
  }
  if (code == "InvalidAccessKeyId" || code == "XAdminUserNotFound") {
    return "the access key is unknown to the server: check AWS_ACCESS_KEY_ID / storage.access_key";
  }
  return "check the access key, the secret key and the bucket policy";
}

bool credential_code(std::string_view code) {
  // Credential problems, whatever the status (versitygw answers an unknown access key with
  // 404 XAdminUserNotFound, AWS with 403 InvalidAccessKeyId).
  return code == "InvalidAccessKeyId" || code == "XAdminUserNotFound" || code == "SignatureDoesNotMatch" ||
         code == "AccessDenied" || code == "RequestTimeTooSkewed" || code == "ExpiredToken" ||
         code == "InvalidToken";
}

}  // namespace

error_body parse_error_body(std::string_view body) {
  error_body out;
  if (body.empty()) return out;
  auto doc = xml::parse(body);
  if (!doc || doc->name != "Error") return out;
  out.code = doc->child_text("Code");
  out.message = doc->child_text("Message");
  return out;
}

kb::error response_error(const http_response_data& r, const request_context& c) {
  if (r.failure != http_failure::none) {
    return http_failure_error(r, fmt::format("{} {}", c.method, c.object), fmt::format("S3 endpoint {}", c.endpoint),
                              "storage.endpoint / the URL's endpoint=", c.stall_timeout);
  }
  const error_body body = parse_error_body(r.body);
  const std::string detail = body.code.empty() ? fmt::format("HTTP {}", r.status)
                                               : fmt::format("HTTP {} {}: {}", r.status, body.code, body.message);
  if (r.status == 403 || r.status == 401 || credential_code(body.code)) {
    const std::string from = c.credential_source.empty() ? "" : fmt::format(" (credentials from {})", c.credential_source);
    return {make_error_code(errc::authorization), fmt::format("S3 refused {} {} as access key {}{}: {}; {}", c.method,
                                                              c.object, c.key_id, from, detail,
                                                              credential_hint(body.code))};
  }
  if (r.status == 404) {
    if (body.code == "NoSuchBucket") {
      return {make_error_code(errc::not_found),
              fmt::format("bucket '{}' does not exist at {}: create it or fix the bucket name", c.bucket, c.endpoint)};
    }
    if (body.code == "NoSuchUpload") {
      return {make_error_code(errc::not_found),
              fmt::format("multipart upload of {} no longer exists ({})", c.object, detail)};
    }
    if (!body.code.empty() && body.code != "NoSuchKey") {
      return {make_error_code(errc::not_found), fmt::format("{} {}: not found ({})", c.method, c.object, detail)};
    }
    return {make_error_code(errc::not_found), fmt::format("object {} not found", c.object)};
  }
  // The server's hash of the body differs from the one we sent: damaged in transit, or a
  // store that computes x-amz-checksum-* differently.
  if (body.code == "BadDigest" || body.code == "XAmzContentSHA256Mismatch" ||
      body.code == "XAmzContentChecksumMismatch" || body.code == "InvalidDigest") {
    return {make_error_code(errc::io),
            fmt::format("S3 rejected {} {}: the body's checksum did not match ({}); the data was damaged on the way, "
                        "or this S3-compatible store checks checksums differently (then set "
                        "storage.upload_checksum: sha256)",
                        c.method, c.object, detail)};
  }
  if (r.status == 412 || r.status == 409) {
    return {make_error_code(errc::conflict),
            fmt::format("{} {}: a precondition failed ({}); the object already exists or changed", c.method, c.object,
                        detail)};
  }
  if (r.status == 416) {
    return {make_error_code(errc::invalid_argument),
            fmt::format("{} {}: the range is past the end of the object ({})", c.method, c.object, detail)};
  }
  return {make_error_code(errc::io), fmt::format("{} {} failed: {}", c.method, c.object, detail)};
}

bool retryable(const http_response_data& r) {
  if (r.failure != http_failure::none) return r.transient_failure();
  if (r.status >= 500 || r.status == 429) return true;
  if (r.status == 400) {
    const auto code = parse_error_body(r.body).code;
    return code == "RequestTimeout" || code == "SlowDown";
  }
  return false;
}

}  // namespace kb::storage::s3
