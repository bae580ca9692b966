// The service-account pieces of GCS auth, pure and unit-tested: reading a key file's JSON, the
// RS256-signed JWT assertion (RFC 7523, signed with OpenSSL) and the token endpoint's reply.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "storage/sigv4.hpp"

namespace kb::storage::gcs {

/// The scope a backup needs: objects read, written, listed and deleted.
inline constexpr std::string_view storage_scope = "https://www.googleapis.com/auth/devstorage.read_write";
/// Where Google's key files send the assertion when they name no token_uri.
inline constexpr std::string_view default_token_uri = "https://oauth2.googleapis.com/token";

/// What a credentials JSON file holds (type "service_account" or "authorized_user").
struct credentials_file {
  std::string type;
  std::string client_email;    ///< service_account
  std::string private_key_id;  ///< service_account, becomes the JWT's "kid"
  secret_string private_key;   ///< service_account, PEM (PKCS#8 or PKCS#1)
  std::string client_id;       ///< authorized_user
  secret_string client_secret; ///< authorized_user
  secret_string refresh_token; ///< authorized_user
  std::string token_uri;
};

/// Parses a credentials file's text; `path` names it in errors (errc::config, no secret).
result<credentials_file> parse_credentials_file(std::string_view json, std::string_view path);

/// The signed assertion `header.claims.signature` for the jwt-bearer grant: iss = sub =
/// client_email, aud = token_uri, scope, iat = now, exp = now + 1 h. errc::config when the key
/// cannot be read.
result<std::string> make_jwt_assertion(const credentials_file& key, std::string_view scope,
                                       std::chrono::system_clock::time_point now);

/// A bearer token and when it stops working.
struct access_token {
  secret_string token;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

/// `{"access_token": ..., "expires_in": 3599, "token_type": "Bearer"}` (OAuth2 token endpoints
/// and the metadata server). `what` names the source in errors; errors never hold the token.
result<access_token> parse_token_response(std::string_view json, std::chrono::system_clock::time_point now,
                                          std::string_view what);

}  // namespace kb::storage::gcs
