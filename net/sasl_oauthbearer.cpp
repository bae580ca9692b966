#include "net/sasl_oauthbearer.hpp"

#include <algorithm>
#include <cctype>

namespace kb::net {

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
    out.response.push_back(0x01);  // RFC 7628 §3.2.3: acknowledge the error; the broker then fails
    return out;
  }
  out.status = sasl_status::done;
  return out;
}

}  // namespace kb::net
