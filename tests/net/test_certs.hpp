// Throwaway PKI for net tests, made with the openssl CLI in a fresh temp dir: a CA, another
// CA, server certificates (SAN localhost + 127.0.0.1, and one for broker.example only), a client
// certificate with its key as PKCS#8, PKCS#1, and both encrypted, plus an unrelated key.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kb::net::testing {

inline constexpr const char* test_key_password = "kb-test-key-pass";

struct test_pki {
  std::filesystem::path dir;
  bool ok = false;

  std::string path(const char* name) const { return (dir / name).string(); }

  static const test_pki& get() {
    static const test_pki pki = make();
    static const remover cleanup{pki.dir};  // removes the temp dir at exit
    return pki;
  }

 private:
  struct remover {
    std::filesystem::path dir;
    ~remover() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  };
  static test_pki make() {
    test_pki pki;
    char tmpl[] = "/tmp/kb-net-pki-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (made == nullptr) return pki;
    pki.dir = made;
    const std::string d = pki.dir.string();
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "set -e; cd '" + d + "'; exec >log.txt 2>&1\n"
        "openssl req -x509" + ec + " -keyout ca.key -out ca.crt -days 30 -subj /CN=kb-test-ca\n"
        "openssl req -x509" + ec + " -keyout other_ca.key -out other_ca.crt -days 30 -subj /CN=kb-other-ca\n"
        "openssl req" + ec + " -keyout server.key -out server.csr -subj /CN=localhost\n"
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext\n"
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 30 -extfile san.ext\n"
        "openssl req" + ec + " -keyout named.key -out named.csr -subj /CN=broker.example\n"
        "printf 'subjectAltName=DNS:broker.example\\n' > named.ext\n"
        "openssl x509 -req -in named.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out named.crt -days 30 -extfile named.ext\n"
        "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client\n"
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 30\n"
        "openssl pkey -in client.key -out client_pkcs8.key\n"
        "openssl rsa -in client.key -traditional -out client_pkcs1.key\n"
        "openssl pkcs8 -topk8 -in client.key -v2 aes-256-cbc -passout pass:" + std::string(test_key_password) +
        " -out client_pkcs8_enc.key\n"
        "openssl rsa -in client.key -traditional -aes256 -passout pass:" + std::string(test_key_password) +
        " -out client_pkcs1_enc.key\n"
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out unrelated.key\n"
        "printf 'not a certificate\\n' > garbage.pem\n"
        "chmod 600 *.key\n";
    pki.ok = std::system(("bash -c \"$(cat <<'KB_EOF'\n" + script + "KB_EOF\n)\"").c_str()) == 0;
    return pki;
  }
};

}  // namespace kb::net::testing
