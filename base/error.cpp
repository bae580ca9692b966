#include "base/error.hpp"

namespace kb {
namespace {

class kb_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kafka-backup"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok: return "success";
      case errc::invalid_argument: return "invalid argument";
      case errc::config: return "configuration error";
      case errc::connect: return "connection failed";
      case errc::tls: return "SSL handshake failed";
      case errc::sasl: return "SASL authentication failed";
      case errc::authorization: return "not authorized";
      case errc::timeout: return "timed out";
      case errc::protocol: return "protocol error";
      case errc::broker: return "broker error";
      case errc::io: return "I/O error";
      case errc::not_found: return "not found";
      case errc::corrupt: return "data integrity failure";
      case errc::conflict: return "conflict";
      case errc::cancelled: return "cancelled";
      case errc::unsupported: return "unsupported";
      case errc::internal: return "internal error";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& kb_category() noexcept {
  static const kb_error_category category;
  return category;
}

exit_code exit_code_for(const error& e) noexcept {
  if (e.code.category() != kb_category()) return exit_code::runtime;
  switch (static_cast<errc>(e.code.value())) {
    case errc::ok: return exit_code::success;
    case errc::invalid_argument:
    case errc::config: return exit_code::usage;
    case errc::connect:
    case errc::tls:
    case errc::sasl:
    case errc::authorization: return exit_code::access;
    case errc::corrupt: return exit_code::integrity;
    default: return exit_code::runtime;
  }
}

}  // namespace kb
