#include "storage/azure/shared_key.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/base64.hpp"

namespace kb::storage::azure {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// The value of a standard header for the string-to-sign ("" when absent).
std::string standard(const http_headers& headers, std::string_view lower_name) {
  for (const auto& [n, v] : headers) {
    if (lower(n) == lower_name) return v;
  }
  return {};
}

/// Leading whitespace dropped, runs of whitespace folded to one space (outside quotes).
std::string canonical_value(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  std::string out;
  bool space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string shared_key_string_to_sign(const signing_request& request, std::string_view account) {
  const auto& h = request.headers;
  std::string out = request.method + "\n";
  out += standard(h, "content-encoding") + "\n";
  out += standard(h, "content-language") + "\n";
  out += (request.content_length == 0 ? std::string() : std::to_string(request.content_length)) + "\n";
  out += standard(h, "content-md5") + "\n";
  out += standard(h, "content-type") + "\n";
  out += standard(h, "date") + "\n";
  out += standard(h, "if-modified-since") + "\n";
  out += standard(h, "if-match") + "\n";
  out += standard(h, "if-none-match") + "\n";
  out += standard(h, "if-unmodified-since") + "\n";
  out += standard(h, "range") + "\n";

  std::map<std::string, std::string> ms;  // sorted by lower-case name
  for (const auto& [n, v] : h) {
    std::string name = lower(n);
    if (name.starts_with("x-ms-")) ms[name] = canonical_value(v);
  }
  for (const auto& [n, v] : ms) out += n + ":" + v + "\n";

  out += "/" + std::string(account) + request.path;
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [n, v] : request.query) params[lower(n)].push_back(v);
  for (auto& [n, values] : params) {
    std::sort(values.begin(), values.end());
    out += "\n" + n + ":";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ",";
      out += values[i];
    }
  }
  return out;
}

std::string hmac_sha256_base64(byte_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  return base64_encode(byte_view(mac, len));
}

result<std::string> shared_key_authorization(const signing_request& request, std::string_view account,
                                             std::string_view account_key_base64) {
  auto key = base64_decode(account_key_base64);
  if (!key || key->empty()) {
    return fail(errc::config, fmt::format("the account key of Azure storage account '{}' is not valid base64; "
                                          "copy it again from the portal (Access keys) into storage.account_key "
                                          "or AZURE_STORAGE_KEY",
                                          account));
  }
  return fmt::format("SharedKey {}:{}", account,
                     hmac_sha256_base64(*key, shared_key_string_to_sign(request, account)));
}

}  // namespace kb::storage::azure
