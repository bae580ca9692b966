// Project-wide error vocabulary: the `kb::errc` codes, the `kb::error` value that carries a
// code plus a human message, `kb::result<T>`, and the mapping from an error to a CLI exit code.
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace kb {

/// What went wrong, coarse enough to choose an exit code and a retry policy.
enum class errc {
  ok = 0,
  invalid_argument,   ///< bad input from a caller (usage, malformed value)
  config,             ///< configuration file error (unknown key, bad type, unset variable)
  connect,            ///< could not reach a broker or a storage endpoint
  tls,                ///< TLS handshake or certificate problem
  sasl,               ///< SASL authentication failed
  authorization,      ///< broker or storage refused an operation (ACL, 403)
  timeout,            ///< an operation did not finish in time
  protocol,           ///< malformed or unexpected bytes from a peer
  broker,             ///< a broker error code that is fatal for the request
  io,                 ///< local or remote I/O failure
  not_found,          ///< an object, topic or backup that should exist does not
  corrupt,            ///< stored data failed an integrity check
  conflict,           ///< another writer holds the lease, or a precondition failed
  cancelled,          ///< stopped on request (signal, first error elsewhere)
  unsupported,        ///< a feature or version we do not implement
  internal,           ///< a bug: an invariant did not hold
};

const std::error_category& kb_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), kb_category()};
}

/// An error as it crosses a layer edge: a code to branch on and a message for people.
/// The message names the cause, the object (broker, topic, key) and, where known, the fix.
/// It never holds a secret.
struct error {
  std::error_code code;
  std::string message;

  [[nodiscard]] bool is(errc e) const noexcept { return code == make_error_code(e); }
};

template <class T>
using result = tl::expected<T, error>;

/// `return fail(errc::io, "...")` from a function returning `result<T>`.
[[nodiscard]] inline tl::unexpected<error> fail(errc e, std::string message) {
  return tl::unexpected<error>(error{make_error_code(e), std::move(message)});
}
[[nodiscard]] inline tl::unexpected<error> fail(std::error_code ec, std::string message) {
  return tl::unexpected<error>(error{ec, std::move(message)});
}
[[nodiscard]] inline tl::unexpected<error> fail(error e) {
  return tl::unexpected<error>(std::move(e));
}

/// Exit codes of the `kafka-backup` binary (DESIGN.md §2).
enum class exit_code : int {
  success = 0,
  runtime = 1,
  usage = 2,
  access = 3,      ///< cannot connect, TLS, SASL or authorization failure
  integrity = 4,   ///< corrupt or missing data found by validate or restore
};

/// The exit code an error ends the process with.
exit_code exit_code_for(const error& e) noexcept;

}  // namespace kb

template <>
struct std::is_error_code_enum<kb::errc> : std::true_type {};
