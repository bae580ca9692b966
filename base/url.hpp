// URLs through Boost.URL: http(s) endpoints, storage-style URLs split into parts, host:port,
// percent-encoding, and user:password@ redaction for messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"

namespace kb::url {

/// An absolute http:// or https:// URL.
struct http_url {
  std::string text;       ///< the input without trailing slashes
  std::string scheme;     ///< "http" or "https" (lower case as written)
  std::string authority;  ///< "host", "host:port", "[::1]:9000": what a Host header carries
  std::string host;       ///< as written, IPv6 literals with their brackets
  std::uint16_t port = 0; ///< 0: none written (the scheme's default)
  std::string path;       ///< encoded, "" or "/a/b" (trailing slashes removed)
  bool has_query = false; ///< a '?' was written
  bool has_fragment = false;
  /// "scheme://authority": the URL without path, query and fragment.
  [[nodiscard]] std::string origin() const { return scheme + "://" + authority; }
};

/// Parses `text` (trailing '/' removed first) as an http:// or https:// URL with a host. Refuses
/// user:password@ (credentials have their own settings, and the URL would reach logs). Errors are
/// errc::invalid_argument saying what is wrong, never quoting the text: the caller names the key
/// and shows the value through redact().
[[nodiscard]] result<http_url> parse_http_url(std::string_view text);

/// What a "scheme://authority/path?query" URL (a storage URL) holds, all decoded. Read leniently:
/// characters a URI may not hold raw (a space, '#', '[' outside the host, ...) stand for
/// themselves, as they did before Boost.URL read these URLs; only a bad %-escape or a bad
/// authority is an error.
struct url_parts {
  std::string scheme;
  std::string authority;        ///< decoded, as written: "bucket", "c@acct.blob.core.windows.net"
  bool has_userinfo = false;    ///< a '@' in the authority
  bool has_password = false;    ///< "user:password@"
  std::string user;             ///< decoded user of the userinfo
  std::string host;             ///< decoded host (brackets kept for IPv6)
  bool has_port = false;
  std::string path;             ///< decoded, as written: "" or "/a/b/"
  std::vector<std::pair<std::string, std::string>> query;  ///< decoded ('+' stays '+'), empty pairs dropped
};
[[nodiscard]] result<url_parts> parse_lenient(std::string_view text);

/// `host:port` or `[ipv6]:port`, port 1-65535, no userinfo. errc::invalid_argument without the text.
struct host_port {
  std::string host;  ///< IPv6 without brackets
  std::uint16_t port = 0;
};
[[nodiscard]] result<host_port> parse_host_port(std::string_view text);

/// Percent-encodes all but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~), and '/' when
/// `keep_slash`; upper-case hex. Query values, form fields, object names in paths.
[[nodiscard]] std::string percent_encode(std::string_view text, bool keep_slash = false);

/// `text` with the password of every "scheme://user:password@" replaced by "***" (also in URLs
/// nested in a query). For messages; works on text no parser accepts too.
[[nodiscard]] std::string redact(std::string_view text);

}  // namespace kb::url
