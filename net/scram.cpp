#include "net/scram.hpp"

#include <charconv>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/base64.hpp"

namespace kb::net {
namespace {

const EVP_MD* digest_of(scram_hash hash) {
  switch (hash) {
    case scram_hash::sha1: return EVP_sha1();
    case scram_hash::sha256: return EVP_sha256();
    case scram_hash::sha512: return EVP_sha512();
  }
  return EVP_sha512();
}

/// A byte buffer that wipes itself: for salted password, keys and signatures.
class wiped_bytes {
 public:
  explicit wiped_bytes(std::size_t size) : bytes_(size) {}
  wiped_bytes(const wiped_bytes&) = delete;
  wiped_bytes& operator=(const wiped_bytes&) = delete;
  ~wiped_bytes() { secure_wipe(bytes_.data(), bytes_.size()); }
  std::uint8_t* data() noexcept { return bytes_.data(); }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return bytes_.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] byte_view view() const noexcept { return bytes_; }

 private:
  byte_vector bytes_;
};

// RFC 5802 §2.2 HMAC(key, str).
bool hmac(const EVP_MD* md, byte_view key, byte_view data, wiped_bytes& out) {
  unsigned int len = static_cast<unsigned int>(out.size());
  return HMAC(md, key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len) != nullptr &&
         len == out.size();
}

// RFC 5802 §2.2 H(str).
bool hash_of(const EVP_MD* md, byte_view data, wiped_bytes& out) {
  unsigned int len = static_cast<unsigned int>(out.size());
  return EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) == 1 && len == out.size();
}

// RFC 5802 §2.2 Hi(str, salt, i) is PBKDF2 with HMAC as the PRF and dkLen = output size.
bool hi(const EVP_MD* md, std::string_view password, byte_view salt, std::uint32_t iterations, wiped_bytes& out) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                           static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                           static_cast<int>(out.size()), out.data()) == 1;
}

/// Strict UTF-8 check (no overlongs, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  const auto byte_at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  while (i < text.size()) {
    const unsigned char c = byte_at(i);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char cc = byte_at(i + k);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool has_ascii_control(std::string_view text) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

std::vector<std::string_view> split_attributes(std::string_view message) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = message.find(',', start);
    if (comma == std::string_view::npos) {
      out.push_back(message.substr(start));
      return out;
    }
    out.push_back(message.substr(start, comma - start));
    start = comma + 1;
  }
}

/// "x=value" -> value when the attribute name matches.
std::optional<std::string_view> attribute(std::string_view attr, char name) {
  if (attr.size() < 2 || attr[0] != name || attr[1] != '=') return std::nullopt;
  return attr.substr(2);
}

bool printable_nonce(std::string_view nonce) {
  for (const char ch : nonce) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  }
  return !nonce.empty();
}

result<std::string> default_nonce() {
  std::uint8_t raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return fail(errc::internal, "SCRAM: the OpenSSL random generator failed to produce a nonce");
  return base64_encode(byte_view(raw, sizeof raw));
}

/// Server-supplied text is echoed in errors only as printable ASCII, bounded.
std::string sanitize(std::string_view text) {
  std::string out;
  for (const char ch : text.substr(0, 200)) {
    const auto c = static_cast<unsigned char>(ch);
    out += (c >= 0x20 && c < 0x7F) ? ch : '?';
  }
  return out;
}

}  // namespace

std::string scram_escape_username(std::string_view username) {
  std::string out;
  out.reserve(username.size());
  for (const char ch : username) {
    if (ch == '=')
      out += "=3D";
    else if (ch == ',')
      out += "=2C";
    else
      out += ch;
  }
  return out;
}

std::string_view scram_mechanism_name(scram_hash hash) noexcept {
  switch (hash) {
    case scram_hash::sha1: return "SCRAM-SHA-1";
    case scram_hash::sha256: return "SCRAM-SHA-256";
    case scram_hash::sha512: return "SCRAM-SHA-512";
  }
  return "SCRAM";
}

result<std::unique_ptr<scram_client>> scram_client::create(std::string username, secret password,
                                                           scram_options opts) {
  const std::string_view mech = scram_mechanism_name(opts.hash);
  if (username.empty())
    return fail(errc::invalid_argument, std::string(mech) + ": the username is empty; set sasl_username");
  if (!valid_utf8(username) || has_ascii_control(username))
    return fail(errc::invalid_argument, std::string(mech) +
                                            ": the username is not valid UTF-8 or contains control characters");
  if (!valid_utf8(password.reveal()))
    return fail(errc::invalid_argument,
                std::string(mech) + ": the password is not valid UTF-8 (SCRAM sends UTF-8; check its encoding)");
  if (has_ascii_control(password.reveal()))
    return fail(errc::invalid_argument,
                std::string(mech) +
                    ": the password contains control characters (SASLprep prohibits them; often a stray newline "
                    "from a password file)");
  if (opts.min_iterations > opts.max_iterations)
    return fail(errc::invalid_argument, std::string(mech) + ": min_iterations exceeds max_iterations");
  return std::unique_ptr<scram_client>(new scram_client(std::move(username), std::move(password), std::move(opts)));
}

scram_client::scram_client(std::string username, secret password, scram_options opts)
    : username_(std::move(username)), password_(std::move(password)), opts_(std::move(opts)) {}

scram_client::~scram_client() {
  secure_wipe(expected_server_signature_.data(), expected_server_signature_.size());
}

std::string_view scram_client::name() const noexcept { return scram_mechanism_name(opts_.hash); }

tl::unexpected<error> scram_client::failure(errc code, const std::string& why) {
  state_ = state::failed;
  secure_wipe(expected_server_signature_.data(), expected_server_signature_.size());
  return fail(code, std::string(name()) + ": " + why);
}

result<sasl_step> scram_client::step(byte_view challenge) {
  switch (state_) {
    case state::initial: return client_first();
    case state::client_first_sent: return client_final(as_text(challenge));
    case state::client_final_sent: return verify_server_final(as_text(challenge));
    case state::done: return failure(errc::internal, "step() called after the exchange completed");
    case state::failed: return fail(errc::sasl, std::string(name()) + ": the exchange already failed");
  }
  return failure(errc::internal, "unknown state");
}

result<sasl_step> scram_client::client_first() {
  auto nonce = opts_.nonce_source ? opts_.nonce_source() : default_nonce();
  if (!nonce) {
    state_ = state::failed;
    return fail(nonce.error());
  }
  if (!printable_nonce(*nonce)) return failure(errc::internal, "the nonce source produced a non-printable nonce");
  client_nonce_ = std::move(*nonce);
  client_first_bare_ = "n=" + scram_escape_username(username_) + ",r=" + client_nonce_;
  const std::string message = "n,," + client_first_bare_;  // gs2-header: no channel binding, no authzid
  state_ = state::client_first_sent;
  return sasl_step{sasl_status::respond, byte_vector(message.begin(), message.end())};
}

result<sasl_step> scram_client::client_final(std::string_view server_first) {
  const auto attrs = split_attributes(server_first);
  if (auto err = attribute(attrs[0], 'e'))
    return failure(errc::sasl, "server error '" + sanitize(*err) + "'");
  if (attribute(attrs[0], 'm'))
    return failure(errc::sasl, "server-first message requires an unsupported mandatory extension (m=)");
  if (attrs.size() < 3)
    return failure(errc::sasl, "malformed server-first message: expected r=, s= and i= attributes");
  const auto nonce = attribute(attrs[0], 'r');
  const auto salt_b64 = attribute(attrs[1], 's');
  const auto iter_text = attribute(attrs[2], 'i');
  if (!nonce || !salt_b64 || !iter_text)
    return failure(errc::sasl, "malformed server-first message: expected r=, s= and i= attributes in that order");
  if (nonce->size() <= client_nonce_.size() || nonce->substr(0, client_nonce_.size()) != client_nonce_)
    return failure(errc::sasl,
                   "the server nonce does not extend the client nonce (broken server or man-in-the-middle)");
  if (!printable_nonce(*nonce)) return failure(errc::sasl, "the server nonce contains non-printable characters");
  const auto salt = base64_decode(*salt_b64);
  if (!salt || salt->empty()) return failure(errc::sasl, "the server salt is not valid base64");
  std::uint32_t iterations = 0;
  const auto [end, ec] = std::from_chars(iter_text->data(), iter_text->data() + iter_text->size(), iterations);
  if (ec != std::errc() || end != iter_text->data() + iter_text->size() || iter_text->empty() ||
      (*iter_text)[0] == '+' || (*iter_text)[0] == '-')
    return failure(errc::sasl, "the iteration count '" + sanitize(*iter_text) + "' is not a number");
  if (iterations < opts_.min_iterations)
    return failure(errc::sasl, "the server asks for " + std::to_string(iterations) +
                                   " iterations, fewer than the minimum " + std::to_string(opts_.min_iterations) +
                                   " (RFC 7677 §4); recreate the SCRAM credential with more iterations");
  if (iterations > opts_.max_iterations)
    return failure(errc::sasl, "the server asks for " + std::to_string(iterations) + " iterations, more than the cap " +
                                   std::to_string(opts_.max_iterations));

  const EVP_MD* md = digest_of(opts_.hash);
  const auto md_size = static_cast<std::size_t>(EVP_MD_get_size(md));
  const std::string without_proof = "c=biws,r=" + std::string(*nonce);  // base64("n,,") == "biws"
  const std::string auth_message = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;

  wiped_bytes salted(md_size), client_key(md_size), stored_key(md_size), client_signature(md_size),
      server_key(md_size), server_signature(md_size), proof(md_size);
  const bool ok = hi(md, password_.reveal(), *salt, iterations, salted) &&
                  hmac(md, salted.view(), as_bytes("Client Key"), client_key) &&
                  hash_of(md, client_key.view(), stored_key) &&
                  hmac(md, stored_key.view(), as_bytes(auth_message), client_signature) &&
                  hmac(md, salted.view(), as_bytes("Server Key"), server_key) &&
                  hmac(md, server_key.view(), as_bytes(auth_message), server_signature);
  if (!ok) return failure(errc::internal, "OpenSSL failed to compute the SCRAM proof");
  for (std::size_t i = 0; i < md_size; ++i) proof.data()[i] = client_key.data()[i] ^ client_signature.data()[i];
  expected_server_signature_.assign(server_signature.data(), server_signature.data() + md_size);

  std::string message = without_proof + ",p=" + base64_encode(proof.view());
  sasl_step out{sasl_status::respond, byte_vector(message.begin(), message.end())};
  secure_wipe(message.data(), message.size());
  state_ = state::client_final_sent;
  return out;
}

result<sasl_step> scram_client::verify_server_final(std::string_view server_final) {
  const auto attrs = split_attributes(server_final);
  if (auto err = attribute(attrs[0], 'e'))
    return failure(errc::sasl, "server error '" + sanitize(*err) + "'");
  const auto verifier = attribute(attrs[0], 'v');
  if (!verifier) return failure(errc::sasl, "malformed server-final message: no v= server signature");
  const auto signature = base64_decode(*verifier);
  if (!signature) return failure(errc::sasl, "the server signature is not valid base64");
  if (signature->size() != expected_server_signature_.size() ||
      CRYPTO_memcmp(signature->data(), expected_server_signature_.data(), signature->size()) != 0)
    return failure(errc::sasl, "the server signature does not match: the server does not know the credential "
                               "(possible man-in-the-middle)");
  secure_wipe(expected_server_signature_.data(), expected_server_signature_.size());
  state_ = state::done;
  return sasl_step{sasl_status::done, {}};
}

}  // namespace kb::net
