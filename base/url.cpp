#include "base/url.hpp"

#include <algorithm>
#include <charconv>

#include <boost/url/decode_view.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/sub_delim_chars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

namespace kb::url {
namespace {

namespace bu = boost::urls;

// What may stay raw in each part of a lenient URL; the rest is %-encoded before parsing, so it
// stands for itself. '%' stays too (encode_raw): an escape the user wrote is kept.
constexpr bu::grammar::lut_chars authority_chars = bu::unreserved_chars + bu::sub_delim_chars + ":@[]";
constexpr bu::grammar::lut_chars path_chars = bu::unreserved_chars + bu::sub_delim_chars + ":@/";
constexpr bu::grammar::lut_chars query_chars = path_chars + "?";
constexpr bu::grammar::lut_chars unreserved_and_slash = bu::unreserved_chars + "/";

/// Encodes what `keep` does not hold, leaving every '%' (bu::encode cannot keep it).
std::string encode_raw(std::string_view text, const bu::grammar::lut_chars& keep) {
  std::string out;
  while (true) {
    const auto pct = text.find('%');
    out += bu::encode(text.substr(0, pct), keep);
    if (pct == std::string_view::npos) return out;
    out.push_back('%');
    text.remove_prefix(pct + 1);
  }
}

std::string decoded(bu::pct_string_view s) {
  std::string out;
  out.reserve(s.decoded_size());
  for (const char c : *s) out.push_back(c);
  return out;
}

result<std::uint16_t> port_value(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return fail(errc::invalid_argument, "its port is not a number 1-65535");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

result<http_url> parse_http_url(std::string_view text) {
  while (text.ends_with('/')) text.remove_suffix(1);
  if (text.find("://") == std::string_view::npos) {
    return fail(errc::invalid_argument, "it has no http:// or https:// in front");
  }
  const auto parsed = bu::parse_absolute_uri(text);
  if (!parsed) return fail(errc::invalid_argument, "it is not a valid URL (" + parsed.error().message() + ")");
  const bu::url_view& u = *parsed;
  http_url out;
  out.text = std::string(text);
  out.scheme = std::string(u.scheme());
  if (out.scheme != "http" && out.scheme != "https") {
    return fail(errc::invalid_argument, "its scheme is not http or https");
  }
  if (!u.has_authority() || u.encoded_host().empty()) return fail(errc::invalid_argument, "it has no host");
  if (u.has_userinfo()) {
    return fail(errc::invalid_argument,
                "it carries user:password@ (credentials have their own settings, and URLs reach logs)");
  }
  if (u.has_port()) {
    auto port = port_value(u.port());
    if (!port) return tl::unexpected(port.error());
    out.port = *port;
  }
  out.authority = std::string(u.encoded_host_and_port());
  out.host = std::string(u.encoded_host());
  out.path = std::string(u.encoded_path());
  out.has_query = u.has_query();
  out.has_fragment = u.has_fragment();
  return out;
}

result<url_parts> parse_lenient(std::string_view text) {
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return fail(errc::invalid_argument, "it has no scheme://");
  const std::string_view after = text.substr(scheme_end + 3);
  const auto authority_end = std::min(after.find_first_of("/?"), after.size());
  const auto path_end = std::min(after.find('?'), after.size());
  std::string encoded(text.substr(0, scheme_end + 3));
  encoded += encode_raw(after.substr(0, authority_end), authority_chars);
  encoded += encode_raw(after.substr(authority_end, path_end - authority_end), path_chars);
  if (path_end < after.size()) encoded += "?" + encode_raw(after.substr(path_end + 1), query_chars);

  if (!bu::make_pct_string_view(encoded)) {
    return fail(errc::invalid_argument, "it has a bad %-escape (write a literal '%' as %25)");
  }
  const auto parsed = bu::parse_uri(encoded);
  if (!parsed) return fail(errc::invalid_argument, "it is not a valid URL (" + parsed.error().message() + ")");
  const bu::url_view& u = *parsed;
  url_parts out;
  out.scheme = std::string(u.scheme());
  out.authority = decoded(u.encoded_authority());
  out.has_userinfo = u.has_userinfo();
  out.has_password = u.has_password();
  out.user = decoded(u.encoded_user());
  out.host = decoded(u.encoded_host());
  out.has_port = u.has_port();
  out.path = decoded(u.encoded_path());
  for (const auto& p : u.encoded_params()) {
    if (p.key.empty() && !p.has_value) continue;  // "a&&b"
    out.query.emplace_back(decoded(p.key), p.has_value ? decoded(p.value) : std::string());
  }
  return out;
}

result<host_port> parse_host_port(std::string_view text) {
  const auto parsed = bu::parse_authority(text);
  if (!parsed || parsed->encoded_host().empty()) {
    return fail(errc::invalid_argument, "it is not host:port or [ipv6]:port");
  }
  const bu::authority_view& a = *parsed;
  if (a.has_userinfo()) return fail(errc::invalid_argument, "it must not carry user@");
  if (!a.has_port()) return fail(errc::invalid_argument, "it has no port");
  // A %-escape is legal in a URI host but not in a DNS name or address.
  if (a.encoded_host().find('%') != std::string_view::npos) {
    return fail(errc::invalid_argument, "its host has a %-escape");
  }
  auto port = port_value(a.port());
  if (!port) return tl::unexpected(port.error());
  return host_port{std::string(a.encoded_host_address()), *port};
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  return keep_slash ? bu::encode(text, unreserved_and_slash) : bu::encode(text, bu::unreserved_chars);
}

std::string redact(std::string_view text) {
  // Textual on purpose: it must also clean text that no URL parser accepts.
  std::string out(text);
  std::size_t from = 0;
  while ((from = out.find("://", from)) != std::string::npos) {
    const std::size_t start = from + 3;
    // Up to the query, not the first '/': a password may hold a raw '/' (invalid, but it must
    // not leak); redacting a "path:with@" too much is harmless in a message.
    const std::size_t end = std::min({out.find_first_of("?# \t", start), out.find("://", start), out.size()});
    const std::string_view head = std::string_view(out).substr(start, end - start);
    const std::size_t at = head.rfind('@');
    const std::size_t colon = head.find(':');
    if (at != std::string_view::npos && colon < at) out.replace(start + colon + 1, at - colon - 1, "***");
    from = start;
  }
  return out;
}

}  // namespace kb::url
