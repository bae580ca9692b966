// AWS Signature Version 4 (header form) as a pure function of the request, the credentials
// and an injected time: canonical request, string to sign, signing key, Authorization header.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.hpp"

namespace kb::storage {

/// A secret string with no printing path; its bytes are wiped when it is destroyed.
class secret_string {
 public:
  secret_string() = default;
  explicit secret_string(std::string value) : value_(std::move(value)) {}
  secret_string(const secret_string& other) : value_(other.value_) {}
  secret_string(secret_string&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  secret_string& operator=(const secret_string& other);
  secret_string& operator=(secret_string&& other) noexcept;
  ~secret_string() { wipe(); }

  /// The secret itself: only for the signer and the credential check.
  [[nodiscard]] const std::string& reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

 private:
  void wipe() noexcept;
  std::string value_;
};

struct aws_credentials {
  std::string access_key_id;
  secret_string secret_access_key;
  secret_string session_token;  ///< empty unless temporary credentials
};

}  // namespace kb::storage

namespace kb::storage::sigv4 {

/// Hex SHA-256 of the empty string, the payload hash of requests without a body.
inline constexpr std::string_view empty_payload_hash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";

using header_list = std::vector<std::pair<std::string, std::string>>;

/// A request to sign. `path` and `query` are raw (not percent-encoded); the signer encodes
/// them exactly as it expects the client to send them (see `canonical_uri`/`canonical_query`).
struct request {
  std::string method;        ///< "GET", "PUT", ...
  std::string host;          ///< the Host header: "bucket.s3.amazonaws.com" or "127.0.0.1:7070"
  std::string path = "/";    ///< raw path, '/'-separated, e.g. "/bucket/key with space"
  header_list query;         ///< raw names and values; a name without value has value ""
  header_list headers;       ///< other headers to sign (Range, Date, x-amz-*...), any case
  std::string payload_hash;  ///< hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct options {
  std::string region = "us-east-1";
  std::string service = "s3";
  /// Add (and sign) x-amz-content-sha256, as S3 requires. The generic AWS test suite
  /// vectors are computed without it.
  bool content_sha256_header = true;
};

struct signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature_hex;
  std::string signed_headers;  ///< "host;range;x-amz-date"
  /// Headers the client must send in addition to the request's own: x-amz-date,
  /// x-amz-content-sha256 (when enabled), x-amz-security-token (when present) and
  /// Authorization (last). Never log the Authorization value.
  header_list headers_to_add;
};

/// Signs `req` at time `now`. Pure: same inputs, same output.
signature sign(const request& req, const aws_credentials& credentials, const options& opts,
               std::chrono::system_clock::time_point now);

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~)
/// kept, every other byte as %XX (upper-case hex); '/' kept when `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);
/// The encoded path as sent and signed (S3 style: each segment encoded once, no
/// normalisation of "//" or "..").
std::string canonical_uri(std::string_view raw_path);
/// The encoded, sorted query string as sent and signed: "max-keys=2&prefix=J".
std::string canonical_query(const header_list& raw_query);
/// "20130524T000000Z".
std::string amz_date(std::chrono::system_clock::time_point now);
/// Lower-case hex SHA-256.
std::string sha256_hex(byte_view data);
/// HMAC-SHA256 chain: kSecret="AWS4"+secret, date, region, service, "aws4_request".
byte_vector signing_key(std::string_view secret, std::string_view yyyymmdd,
                        std::string_view region, std::string_view service);
std::string hex(byte_view data);

}  // namespace kb::storage::sigv4
