#include "storage/sigv4.hpp"

#include <algorithm>
#include <ctime>
#include <map>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fmt/format.h>

namespace kb::storage {

secret_string& secret_string::operator=(const secret_string& other) {
  if (this != &other) {
    wipe();
    value_ = other.value_;
  }
  return *this;
}

secret_string& secret_string::operator=(secret_string&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
  }
  return *this;
}

void secret_string::wipe() noexcept {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

}  // namespace kb::storage

namespace kb::storage::sigv4 {
namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  });
  return out;
}

/// Trims leading/trailing whitespace and collapses inner runs of spaces to one space.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

byte_vector hmac_sha256(byte_view key, std::string_view data) {
  byte_vector out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  out.resize(length);
  return out;
}

}  // namespace

std::string hex(byte_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (const auto b : data) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

std::string sha256_hex(byte_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return hex(byte_view(digest, length));
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0x0f]);
    }
  }
  return out;
}

std::string canonical_uri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  std::string out = uri_encode(raw_path, true);
  if (out.front() != '/') out.insert(out.begin(), '/');
  return out;
}

std::string canonical_query(const header_list& raw_query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(raw_query.size());
  for (const auto& [name, value] : raw_query) {
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point now) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  const auto n = std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return std::string(buffer, n);
}

byte_vector signing_key(std::string_view secret, std::string_view yyyymmdd, std::string_view region,
                        std::string_view service) {
  std::string k_secret = "AWS4";
  k_secret += secret;
  byte_vector k_date = hmac_sha256(as_bytes(k_secret), yyyymmdd);
  OPENSSL_cleanse(k_secret.data(), k_secret.size());
  byte_vector k_region = hmac_sha256(k_date, region);
  byte_vector k_service = hmac_sha256(k_region, service);
  byte_vector k_signing = hmac_sha256(k_service, "aws4_request");
  OPENSSL_cleanse(k_date.data(), k_date.size());
  OPENSSL_cleanse(k_region.data(), k_region.size());
  OPENSSL_cleanse(k_service.data(), k_service.size());
  return k_signing;
}

signature sign(const request& req, const aws_credentials& credentials, const options& opts,
               std::chrono::system_clock::time_point now) {
  const std::string date_time = amz_date(now);
  const std::string date = date_time.substr(0, 8);

  // Canonical headers: lower-case names, sorted; values trimmed and collapsed; repeated
  // names joined with ','.
  std::map<std::string, std::string> canonical;
  canonical["host"] = canonical_header_value(req.host);
  for (const auto& [name, value] : req.headers) {
    std::string lower = to_lower(name);
    if (lower == "host" || lower == "authorization") continue;
    auto [it, inserted] = canonical.try_emplace(std::move(lower), canonical_header_value(value));
    if (!inserted) {
      it->second.push_back(',');
      it->second += canonical_header_value(value);
    }
  }
  signature out;
  out.headers_to_add.emplace_back("x-amz-date", date_time);
  canonical["x-amz-date"] = date_time;
  if (opts.content_sha256_header) {
    canonical["x-amz-content-sha256"] = req.payload_hash;
    out.headers_to_add.emplace_back("x-amz-content-sha256", req.payload_hash);
  }
  if (!credentials.session_token.empty()) {
    canonical["x-amz-security-token"] = credentials.session_token.reveal();
    out.headers_to_add.emplace_back("x-amz-security-token", credentials.session_token.reveal());
  }

  std::string header_block;
  for (const auto& [name, value] : canonical) {
    header_block += name;
    header_block.push_back(':');
    header_block += value;
    header_block.push_back('\n');
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += name;
  }

  out.canonical_request = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", req.method, canonical_uri(req.path),
                                      canonical_query(req.query), header_block, out.signed_headers,
                                      req.payload_hash);
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date, opts.region, opts.service);
  out.string_to_sign = fmt::format("{}\n{}\n{}\n{}", algorithm, date_time, scope,
                                   sha256_hex(as_bytes(out.canonical_request)));
  byte_vector key = signing_key(credentials.secret_access_key.reveal(), date, opts.region,
                                opts.service);
  out.signature_hex = hex(hmac_sha256(key, out.string_to_sign));
  OPENSSL_cleanse(key.data(), key.size());
  out.headers_to_add.emplace_back(
      "Authorization", fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", algorithm,
                                   credentials.access_key_id, scope, out.signed_headers,
                                   out.signature_hex));
  return out;
}

}  // namespace kb::storage::sigv4
