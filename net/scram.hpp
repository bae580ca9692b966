// SCRAM client (RFC 5802, RFC 7677) for SCRAM-SHA-256 and SCRAM-SHA-512 as Kafka speaks it,
// a sans-I/O state machine: client-first -> server-first -> client-final -> server-final.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "net/sasl.hpp"

namespace kb::net {

/// Hash function of the mechanism. sha1 exists only to check the RFC 5802 example vectors;
/// Kafka offers SCRAM-SHA-256 and SCRAM-SHA-512.
enum class scram_hash { sha1, sha256, sha512 };

/// Produces the client nonce: printable ASCII without ','. The default draws 24 bytes from
/// OpenSSL's CSPRNG (RAND_bytes) and base64-encodes them. Tests inject a fixed nonce.
using scram_nonce_source = std::function<result<std::string>()>;

struct scram_options {
  scram_hash hash = scram_hash::sha512;
  /// Iteration counts outside [min_iterations, max_iterations] are refused: fewer than 4096 is
  /// weak (RFC 7677 §4), a huge count from a hostile server is a CPU denial of service.
  std::uint32_t min_iterations = 4096;
  std::uint32_t max_iterations = 1'000'000;
  scram_nonce_source nonce_source;  ///< empty: the CSPRNG default
};

/// One SCRAM exchange. Username escaping ('=' -> "=3D", ',' -> "=2C") per RFC 5802 §5.1.
/// Password handling matches Apache Kafka (ScramFormatter): the raw UTF-8 bytes, no SASLprep
/// normalisation; invalid UTF-8 and ASCII control characters are refused up front with a clear
/// error, since SASLprep (RFC 4013 §2.3) prohibits them and servers disagree about them.
/// Key material (salted password, keys, proof) is wiped after use.
class scram_client final : public sasl_mechanism {
 public:
  enum class state { initial, client_first_sent, client_final_sent, done, failed };

  [[nodiscard]] static result<std::unique_ptr<scram_client>> create(std::string username, secret password,
                                                                    scram_options opts = {});
  ~scram_client() override;

  [[nodiscard]] std::string_view name() const noexcept override;
  /// initial: returns client-first (challenge ignored). client_first_sent: parses server-first,
  /// returns client-final. client_final_sent: verifies server-final, returns done.
  /// Any error moves to `failed`; later calls fail too.
  [[nodiscard]] result<sasl_step> step(byte_view challenge) override;

  [[nodiscard]] state current_state() const noexcept { return state_; }

 private:
  scram_client(std::string username, secret password, scram_options opts);
  result<sasl_step> client_first();
  result<sasl_step> client_final(std::string_view server_first);
  result<sasl_step> verify_server_final(std::string_view server_final);
  [[nodiscard]] tl::unexpected<error> failure(errc code, const std::string& why);

  std::string username_;
  secret password_;
  scram_options opts_;
  state state_ = state::initial;
  std::string client_nonce_;
  std::string client_first_bare_;
  byte_vector expected_server_signature_;
};

/// RFC 5802 §5.1 saslname escaping: '=' -> "=3D", ',' -> "=2C".
[[nodiscard]] std::string scram_escape_username(std::string_view username);

/// The mechanism name for a hash: "SCRAM-SHA-256", "SCRAM-SHA-512" (or "SCRAM-SHA-1").
[[nodiscard]] std::string_view scram_mechanism_name(scram_hash hash) noexcept;

}  // namespace kb::net
