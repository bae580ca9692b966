#include "storage/gcs/gcs_jwt.hpp"

#include <memory>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/base64.hpp"
#include "base/token_time.hpp"

namespace kb::storage::gcs {
namespace {

namespace json = boost::json;

std::string string_member(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

}  // namespace

result<credentials_file> parse_credentials_file(std::string_view text, std::string_view path) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    return fail(errc::config, fmt::format("GCS credentials file {} is not a JSON object; download a service "
                                          "account key (JSON) or run `gcloud auth application-default login`",
                                          path));
  }
  const auto& o = doc.as_object();
  credentials_file out;
  out.type = string_member(o, "type");
  out.token_uri = string_member(o, "token_uri");
  if (out.token_uri.empty()) out.token_uri = std::string(default_token_uri);
  if (out.type == "service_account") {
    out.client_email = string_member(o, "client_email");
    out.private_key_id = string_member(o, "private_key_id");
    out.private_key = secret_string(string_member(o, "private_key"));
    if (out.client_email.empty() || out.private_key.empty()) {
      return fail(errc::config, fmt::format("GCS service account key {} lacks client_email or private_key; "
                                            "download a new JSON key for the service account",
                                            path));
    }
    return out;
  }
  if (out.type == "authorized_user") {
    out.client_id = string_member(o, "client_id");
    out.client_secret = secret_string(string_member(o, "client_secret"));
    out.refresh_token = secret_string(string_member(o, "refresh_token"));
    if (out.client_id.empty() || out.refresh_token.empty()) {
      return fail(errc::config, fmt::format("GCS user credentials {} lack client_id or refresh_token; run "
                                            "`gcloud auth application-default login` again",
                                            path));
    }
    return out;
  }
  return fail(errc::config,
              fmt::format("GCS credentials file {} has type '{}'; supported are service_account and "
                          "authorized_user (for workload identity on GKE or GCE leave the file out: the "
                          "metadata server is used)",
                          path, out.type));
}

result<std::string> make_jwt_assertion(const credentials_file& key, std::string_view scope,
                                       std::chrono::system_clock::time_point now) {
  json::object header{{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json::object claims{{"iss", key.client_email}, {"sub", key.client_email}, {"aud", key.token_uri},
                      {"scope", scope},          {"iat", iat},              {"exp", iat + 3600}};
  const std::string h = json::serialize(header);
  const std::string c = json::serialize(claims);
  std::string input = base64url_encode(as_bytes(h)) + "." + base64url_encode(as_bytes(c));

  const std::string& pem = key.private_key.reveal();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr, EVP_PKEY_free);
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
    return fail(errc::config, fmt::format("the private_key of GCS service account {} is not a readable RSA PEM "
                                          "key; download a new JSON key for the service account",
                                          key.client_email));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return fail(errc::internal, "OpenSSL could not set up an RS256 signature");
  }
  byte_vector sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    return fail(errc::internal, "OpenSSL could not sign the service account assertion (RS256)");
  }
  sig.resize(len);
  input += ".";
  input += base64url_encode(sig);
  return input;
}

result<access_token> parse_token_response(std::string_view text, std::chrono::system_clock::time_point now,
                                          std::string_view what) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    return fail(errc::protocol, fmt::format("{} answered with something that is not a JSON token response", what));
  }
  const auto& o = doc.as_object();
  access_token out;
  out.token = secret_string(string_member(o, "access_token"));
  if (out.token.empty()) {
    return fail(errc::protocol, fmt::format("{} answered without an access_token", what));
  }
  if (const auto* e = o.if_contains("expires_in"); e != nullptr && e->is_number()) {
    // bounded: a server's number must not overflow the clock
    if (const double seconds = e->to_number<double>(); seconds >= 0) out.expiration = now + bounded_lifetime(seconds);
  }
  return out;
}

}  // namespace kb::storage::gcs
