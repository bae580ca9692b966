#include "net/tls.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/log.hpp"

namespace kb::net {
namespace {

namespace ssl = boost::asio::ssl;

/// The reason text of OpenSSL's most recent queued error (and clears the queue).
std::string last_openssl_reason() {
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

/// errc::config if `path` cannot be opened for reading, naming the option and the cause.
result<void> check_readable(std::string_view option, const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    return fail(errc::config, std::string(option) + " '" + path + "' does not exist; check the path");
  if (std::filesystem::is_directory(status)) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(errc::config, std::string(option) + " '" + path + "' cannot be read (" + std::strerror(errno) +
                                  "); check its permissions");
  return {};
}

result<std::string> read_file(std::string_view option, const std::string& path) {
  if (auto ok = check_readable(option, path); !ok) return fail(ok.error());
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    return fail(errc::config, std::string(option) + " '" + path + "' could not be read completely");
  return text;
}

struct password_slot {
  const secret* password = nullptr;
  bool asked = false;
};

// pem_password_cb: copies the passphrase into OpenSSL's buffer; 0 (failure) without one.
int password_callback(char* buf, int size, int /*rwflag*/, void* userdata) {
  auto* slot = static_cast<password_slot*>(userdata);
  slot->asked = true;
  if (slot->password == nullptr || size <= 0) return 0;
  const std::string_view pw = slot->password->reveal();
  if (pw.size() > static_cast<std::size_t>(size)) return 0;
  std::memcpy(buf, pw.data(), pw.size());
  return static_cast<int>(pw.size());
}

struct pkey_deleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct bio_deleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};

result<std::unique_ptr<EVP_PKEY, pkey_deleter>> load_private_key(const tls_options& opts) {
  const std::string& path = *opts.key_location;
  auto text = read_file("ssl_key_location", path);
  if (!text) return fail(text.error());
  const bool encrypted = text->find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
                         text->find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
  if (encrypted && (!opts.key_password || opts.key_password->empty()))
    return fail(errc::config, "ssl_key_location '" + path +
                                  "' holds an encrypted private key but ssl_key_password is not set");

  std::unique_ptr<BIO, bio_deleter> bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  password_slot slot{opts.key_password ? &*opts.key_password : nullptr, false};
  ERR_clear_error();
  std::unique_ptr<EVP_PKEY, pkey_deleter> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, password_callback, &slot));
  secure_wipe(text->data(), text->size());
  if (!key) {
    const std::string reason = last_openssl_reason();
    if (encrypted)
      return fail(errc::tls, "cannot decrypt the private key in ssl_key_location '" + path +
                                 "': wrong ssl_key_password (" + reason + ")");
    return fail(errc::tls, "ssl_key_location '" + path + "' holds no PEM private key (PKCS#8 or PKCS#1) (" +
                               reason + ")");
  }
  return key;
}

void warn_if_key_exposed(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    log::warn("private key file '{}' is readable by group or others (mode {:o}); chmod 600 it", path,
              st.st_mode & 0777);
}

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace

result<std::shared_ptr<ssl::context>> make_tls_context(const tls_options& opts) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    return fail(errc::tls, "cannot set TLS 1.2 as the minimum protocol version: " + last_openssl_reason());
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);

  ERR_clear_error();
  if (opts.ca_location && !opts.ca_location->empty()) {
    const std::string& ca = *opts.ca_location;
    if (auto ok = check_readable("ssl_ca_location", ca); !ok) return fail(ok.error());
    const bool dir = std::filesystem::is_directory(ca);
    if (SSL_CTX_load_verify_locations(native, dir ? nullptr : ca.c_str(), dir ? ca.c_str() : nullptr) != 1)
      return fail(errc::tls, "ssl_ca_location '" + ca + "' holds no PEM CA certificate (" + last_openssl_reason() + ")");
  } else if (SSL_CTX_set_default_verify_paths(native) != 1) {
    return fail(errc::tls, "cannot load the system trust store: " + last_openssl_reason() +
                               "; set ssl_ca_location");
  }

  const bool has_cert = opts.certificate_location && !opts.certificate_location->empty();
  const bool has_key = opts.key_location && !opts.key_location->empty();
  if (has_cert != has_key)
    return fail(errc::config, has_cert ? "ssl_certificate_location is set but ssl_key_location is not; set both for mTLS"
                                       : "ssl_key_location is set but ssl_certificate_location is not; set both for mTLS");
  if (has_cert) {
    const std::string& cert = *opts.certificate_location;
    if (auto ok = check_readable("ssl_certificate_location", cert); !ok) return fail(ok.error());
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(native, cert.c_str()) != 1)
      return fail(errc::tls, "ssl_certificate_location '" + cert + "' holds no PEM certificate (" +
                                 last_openssl_reason() + ")");
    auto key = load_private_key(opts);
    if (!key) return fail(key.error());
    warn_if_key_exposed(*opts.key_location);
    ERR_clear_error();
    if (SSL_CTX_use_PrivateKey(native, key->get()) != 1 || SSL_CTX_check_private_key(native) != 1)
      return fail(errc::tls, "the private key in ssl_key_location '" + *opts.key_location +
                                 "' does not match the certificate in ssl_certificate_location '" + cert + "'");
  }
  return ctx;
}

result<void> prepare_tls_stream(SSL* ssl_handle, std::string_view host, bool endpoint_identification) {
  const std::string h(host);
  const bool ip = is_ip_literal(host);
  ERR_clear_error();
  if (!ip && SSL_set_tlsext_host_name(ssl_handle, h.c_str()) != 1)
    return fail(errc::tls, "cannot set SNI host name '" + h + "': " + last_openssl_reason());
  if (!endpoint_identification) return {};
  if (ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), h.c_str()) != 1)
      return fail(errc::tls, "cannot set the expected broker IP address '" + h + "'");
  } else {
    SSL_set_hostflags(ssl_handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl_handle, h.c_str()) != 1)
      return fail(errc::tls, "cannot set the expected broker host name '" + h + "'");
  }
  return {};
}

bool is_tls_error(const boost::system::error_code& ec) noexcept {
  return ec.category() == boost::asio::error::get_ssl_category() ||
         ec == boost::asio::ssl::error::stream_truncated ||
         ec.category() == boost::asio::ssl::error::get_stream_category();
}

std::string tls_failure_text(std::string_view broker, const boost::system::error_code& ec, const SSL* ssl_handle) {
  std::string reason;
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    const char* text = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    reason = text != nullptr ? text : ec.message();
  } else if (ec == boost::asio::ssl::error::stream_truncated || ec == boost::asio::error::eof) {
    reason = "the broker closed the connection during the handshake (is this a TLS listener? does it require "
             "a client certificate?)";
  } else {
    reason = ec.message();
  }
  if (reason.find(" alert ") != std::string::npos && reason.find("certificate") != std::string::npos) {
    if (ssl_handle != nullptr && SSL_get_certificate(ssl_handle) == nullptr)
      reason += " (the listener requires a client certificate (mTLS) and none is configured: set "
                "ssl_certificate_location and ssl_key_location, or use a listener without client authentication)";
    else
      reason += " (the broker rejected our client certificate: check ssl_certificate_location, its expiry and "
                "that the broker trusts its CA)";
  }
  if (ssl_handle != nullptr) {
    const long verify = SSL_get_verify_result(ssl_handle);
    if (verify != X509_V_OK) {
      const std::string detail = X509_verify_cert_error_string(verify);
      if (reason.find(detail) == std::string::npos) reason += ": " + detail;
    }
  }
  return "SSL handshake failed: broker " + std::string(broker) + ": " + reason +
         " \u2014 check ssl_ca_location, certificate expiry and the broker hostname";
}

}  // namespace kb::net
