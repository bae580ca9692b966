// Azure Storage SharedKey signing (the account key's HMAC-SHA256 over the canonical request, as
// the Blob service documents it), on OpenSSL; pure, so unit vectors pin it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "storage/http_transport.hpp"

namespace kb::storage::azure {

/// The parts of a request that SharedKey signs.
struct signing_request {
  std::string method;           ///< "PUT"
  std::string path;             ///< the URL path exactly as sent (percent-encoded), "/acct/c/key"
  http_headers query;           ///< decoded name/value pairs, any order
  http_headers headers;         ///< as sent (x-ms-date, x-ms-version, Range, If-None-Match, ...)
  std::uint64_t content_length = 0;
};

/// The string-to-sign of the Blob service (version 2015-02-21 and later: a zero Content-Length
/// is signed as empty).
std::string shared_key_string_to_sign(const signing_request& request, std::string_view account);

/// The Authorization header value, "SharedKey ACCOUNT:SIGNATURE". errc::config when the account
/// key is not base64 (the message does not show it).
result<std::string> shared_key_authorization(const signing_request& request, std::string_view account,
                                             std::string_view account_key_base64);

/// Base64 of HMAC-SHA256(key, message).
std::string hmac_sha256_base64(byte_view key, std::string_view message);

}  // namespace kb::storage::azure
