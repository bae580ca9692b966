#include "net/sasl_oauthbearer.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

namespace kb::net {
namespace {

/// The "status" of an RFC 7628 §3.2.2 error ({"status":"invalid_token", ...}): a short code,
/// never the token; "error" for anything else.
std::string error_status(std::string_view json) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  const auto* status = !ec && v.is_object() ? v.as_object().if_contains("status") : nullptr;
  if (status == nullptr || !status->is_string() || status->as_string().size() > 64) return "error";
  return std::string(status->as_string());
}

std::string_view as_text(byte_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

result<std::unique_ptr<sasl_oauthbearer>> sasl_oauthbearer::create(secret token) {
  if (token.empty()) return fail(errc::invalid_argument, "the OAUTHBEARER token is empty");
  // RFC 6750 b64token: the characters a bearer token may hold (a JWT is base64url and dots).
  const auto ok = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
           c == '+' || c == '/' || c == '=';
  };
  const auto t = token.reveal();
  if (!std::all_of(t.begin(), t.end(), ok)) {
    return fail(errc::invalid_argument, "the OAUTHBEARER token holds characters a bearer token cannot (RFC 6750)");
  }
  return std::unique_ptr<sasl_oauthbearer>(new sasl_oauthbearer(std::move(token)));
}

result<sasl_step> sasl_oauthbearer::step(byte_view challenge) {
  sasl_step out;
  if (round_++ == 0) {
    constexpr std::string_view head = "n,,\x01" "auth=Bearer ";
    const auto t = token_.reveal();
    out.response.reserve(head.size() + t.size() + 2);
    out.response.insert(out.response.end(), head.begin(), head.end());
    out.response.insert(out.response.end(), t.begin(), t.end());
    out.response.push_back(0x01);
    out.response.push_back(0x01);
    return out;
  }
  if (!challenge.empty() && round_ == 2) {
    server_status_ = error_status(as_text(challenge));
    out.response.push_back(0x01);  // RFC 7628 §3.2.3: acknowledge the error; the broker then fails
    return out;
  }
  out.status = sasl_status::done;
  return out;
}

std::string sasl_oauthbearer::failure_detail(std::string_view broker_message) const {
  if (round_ == 0) return {};  // the token never left
  const std::string status = !server_status_.empty() ? server_status_ : error_status(broker_message);
  return "the broker refused the token (" + status +
         "): its signature, issuer, audience or expiry does not match the broker's sasl.oauthbearer.* settings "
         "(JWKS endpoint, expected issuer and audience); check the token source and the broker's log";
}

}  // namespace kb::net
