#include "net/sasl_plain.hpp"

namespace kb::net {

result<std::unique_ptr<sasl_plain>> sasl_plain::create(std::string username, secret password) {
  if (username.empty()) return fail(errc::invalid_argument, "SASL PLAIN: the username is empty; set sasl_username");
  if (username.find('\0') != std::string::npos)
    return fail(errc::invalid_argument, "SASL PLAIN: the username contains a NUL character");
  if (password.reveal().find('\0') != std::string_view::npos)
    return fail(errc::invalid_argument, "SASL PLAIN: the password contains a NUL character");
  return std::unique_ptr<sasl_plain>(new sasl_plain(std::move(username), std::move(password)));
}

result<sasl_step> sasl_plain::step(byte_view /*challenge*/) {
  if (sent_) return sasl_step{sasl_status::done, {}};
  sent_ = true;
  sasl_step out;
  const std::string_view pw = password_.reveal();
  out.response.reserve(2 + username_.size() + pw.size());
  out.response.push_back(0);  // empty authzid
  out.response.insert(out.response.end(), username_.begin(), username_.end());
  out.response.push_back(0);
  out.response.insert(out.response.end(), pw.begin(), pw.end());
  return out;
}

}  // namespace kb::net
