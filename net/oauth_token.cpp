#include "net/oauth_token.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

#include "base/log.hpp"
#include "base/base64.hpp"
#include "base/token_time.hpp"
#include "base/url.hpp"

namespace kb::net {
namespace {

using sys_clock = std::chrono::system_clock;

std::string form_encode(std::string_view text) { return url::percent_encode(text); }

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() > (1u << 20)) return 0;
  out->append(data, size * n);
  return size * n;
}

/// A token's expiry: the endpoint's expires_in, else the JWT's exp claim.
std::optional<sys_clock::time_point> expiry_of(const std::string& token, std::optional<sys_clock::time_point> said) {
  if (said) return said;
  return jwt_expiry(token);
}

}  // namespace

http_post_fn curl_http_post(std::string ca_file) {
  return [ca_file = std::move(ca_file)](const std::string& url, const std::string& form,
                                       const std::string& authorization) {
    http_post_reply reply;
    CURL* h = curl_easy_init();
    if (h == nullptr) {
      reply.transport_error = "curl_easy_init failed";
      return reply;
    }
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* headers = nullptr;
    const std::string auth_line = "Authorization: " + authorization;
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    headers = curl_slist_append(headers, "Accept: application/json");
    if (!authorization.empty()) headers = curl_slist_append(headers, auth_line.c_str());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (!ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file.c_str());
    const CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      reply.transport_error = errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    } else {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return reply;
  };
}

std::string client_credentials_form(std::string_view scope) {
  std::string form = "grant_type=client_credentials";
  if (!scope.empty()) form += "&scope=" + form_encode(scope);
  return form;
}

std::string client_basic_auth(std::string_view client_id, const secret& client_secret) {
  const std::string pair = form_encode(client_id) + ":" + form_encode(client_secret.reveal());
  return "Basic " + base64_encode(as_bytes(pair));
}

std::optional<sys_clock::time_point> jwt_expiry(std::string_view token) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::string payload(token.substr(first + 1, second - first - 1));
  for (char& c : payload) {  // base64url → base64, padded
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (payload.size() % 4 != 0) payload.push_back('=');
  auto bytes = base64_decode(payload);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* exp = v.as_object().if_contains("exp");
  if (exp == nullptr || !exp->is_number()) return std::nullopt;
  return bounded_expiry(exp->to_number<double>(), sys_clock::now());  // bounded: the claim is untrusted
}

result<oauth_token> parse_token_response(const http_post_reply& reply, std::string_view what, sys_clock::time_point now) {
  if (!reply.transport_error.empty()) return fail(errc::sasl, fmt::format("{}: {}", what, reply.transport_error));
  boost::system::error_code ec;
  auto v = boost::json::parse(reply.body, ec);
  const boost::json::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
  auto field = [&](std::string_view name) -> std::string {
    const auto* f = o == nullptr ? nullptr : o->if_contains(name);
    return f != nullptr && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  if (reply.status != 200) {
    std::string why = field("error");
    if (!field("error_description").empty()) why += ": " + field("error_description");
    return fail(errc::sasl, fmt::format("{} answered HTTP {}{}{}", what, reply.status, why.empty() ? "" : ": ", why));
  }
  if (o == nullptr) return fail(errc::sasl, fmt::format("{}: the answer is not a JSON object", what));
  std::string token = field("access_token");
  if (token.empty()) return fail(errc::sasl, fmt::format("{}: the answer has no access_token", what));
  std::optional<sys_clock::time_point> said;
  if (const auto* e = o->if_contains("expires_in"); e != nullptr && e->is_number()) {
    said = now + bounded_lifetime(e->to_number<double>());
  }
  oauth_token t;
  t.expires = expiry_of(token, said);
  t.value = secret(std::move(token));
  return t;
}

oauth_token_source::oauth_token_source(std::string what, fetch_fn fetch, clock_fn clock)
    : what_(std::move(what)), fetch_(std::move(fetch)), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return sys_clock::now(); };
}

result<secret> oauth_token_source::current() {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  if (held_ && (!refresh_at_ || now < *refresh_at_)) return held_->value;
  auto fresh = fetch_();
  if (!fresh) {
    if (held_ && held_->expires && now < *held_->expires) {
      log::warn("sasl: fetching a new OAUTHBEARER token from {} failed ({}); the current one is still valid",
                what_, fresh.error().message);
      refresh_at_ = now + std::chrono::seconds(10);
      return held_->value;
    }
    return fail(std::move(fresh.error()));
  }
  held_ = std::move(*fresh);
  refresh_at_.reset();
  if (held_->expires) {
    const auto life = *held_->expires - now;
    refresh_at_ = now + std::chrono::duration_cast<sys_clock::duration>(life * 0.8);
    log::info("sasl: OAUTHBEARER token from {} (expires in {} s)", what_,
              std::chrono::duration_cast<std::chrono::seconds>(life).count());
  } else {
    log::info("sasl: OAUTHBEARER token from {} (no expiry given)", what_);
  }
  return held_->value;
}

result<std::shared_ptr<oauth_token_source>> make_oauth_token_source(const oauth_settings& s, http_post_fn post) {
  if (!s.token_file.empty()) {
    const std::string path = s.token_file;
    return std::make_shared<oauth_token_source>(
        fmt::format("token file {}", path), [path]() -> result<oauth_token> {
          std::ifstream in(path, std::ios::binary);
          if (!in) return fail(errc::sasl, fmt::format("cannot read the OAUTHBEARER token file {}", path));
          std::ostringstream ss;
          ss << in.rdbuf();
          std::string token = trim(ss.str());
          if (token.empty()) return fail(errc::sasl, fmt::format("the OAUTHBEARER token file {} is empty", path));
          oauth_token t;
          t.expires = jwt_expiry(token);
          t.value = secret(std::move(token));
          return t;
        });
  }
  if (s.token_endpoint_url.empty()) {
    return fail(errc::config, "OAUTHBEARER needs sasl_oauthbearer_token_endpoint_url (with client id and secret) or "
                              "sasl_oauthbearer_token_file");
  }
  if (s.client_id.empty() || s.client_secret.empty()) {
    return fail(errc::config, "OAUTHBEARER with a token endpoint needs sasl_oauthbearer_client_id and "
                              "sasl_oauthbearer_client_secret");
  }
  if (!post) post = curl_http_post(s.ca_file);
  const std::string url = s.token_endpoint_url;
  const std::string form = client_credentials_form(s.scope);
  const std::string auth = client_basic_auth(s.client_id, s.client_secret);
  const std::string what = fmt::format("token endpoint {} (client '{}')", url, s.client_id);
  return std::make_shared<oauth_token_source>(what, [url, form, auth, what, post]() {
    return parse_token_response(post(url, form, auth), what, sys_clock::now());
  });
}

}  // namespace kb::net
