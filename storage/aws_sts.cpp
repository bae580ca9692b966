#include "storage/aws_sts.hpp"

#include <fmt/format.h>

#include "base/url.hpp"
#include "storage/xml.hpp"

namespace kb::storage {
namespace {

constexpr std::string_view sts_version = "2011-06-15";
constexpr std::string_view form_type = "application/x-www-form-urlencoded; charset=utf-8";

std::string trimmed_endpoint(std::string_view endpoint) {
  std::string e(endpoint);
  while (e.ends_with('/')) e.pop_back();
  return e + "/";
}

}  // namespace

std::string form_encode(std::string_view text) { return url::percent_encode(text); }

std::string sts_endpoint(std::string_view configured, std::string_view region, const env_lookup& env) {
  if (!configured.empty()) return std::string(configured);
  for (const char* name : {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"}) {
    if (auto v = env(name); v && !v->empty()) return *v;
  }
  return fmt::format("https://sts.{}.amazonaws.com", region.empty() ? std::string_view("us-east-1") : region);
}

http_exchange sts_web_identity_request(std::string_view endpoint, std::string_view role_arn,
                                       std::string_view session_name, const secret_string& token) {
  http_exchange ex;
  ex.method = "POST";
  ex.url = trimmed_endpoint(endpoint);
  ex.headers = {{"Content-Type", std::string(form_type)}, {"Accept", "application/xml"}};
  ex.body = fmt::format("Action=AssumeRoleWithWebIdentity&Version={}&RoleArn={}&RoleSessionName={}&WebIdentityToken={}",
                        sts_version, form_encode(role_arn), form_encode(session_name), form_encode(token.reveal()));
  return ex;
}

http_exchange sts_assume_role_request(std::string_view endpoint, std::string_view region, std::string_view role_arn,
                                      std::string_view session_name, const aws_credentials& source,
                                      std::chrono::system_clock::time_point now) {
  http_exchange ex;
  ex.method = "POST";
  ex.url = trimmed_endpoint(endpoint);
  ex.body = fmt::format("Action=AssumeRole&Version={}&RoleArn={}&RoleSessionName={}", sts_version,
                        form_encode(role_arn), form_encode(session_name));
  // What is signed must be what is sent: the host[:port] and the path with its one trailing '/'.
  const auto parts = url::parse_http_url(ex.url);
  sigv4::request req;
  req.method = "POST";
  req.host = parts ? parts->authority : std::string();  // a bad endpoint fails at the request, naming it
  req.path = (parts ? parts->path : std::string()) + "/";
  req.headers = {{"Content-Type", std::string(form_type)}};
  req.payload_hash = sigv4::sha256_hex(as_bytes(ex.body));
  sigv4::options opts;
  opts.region = region.empty() ? "us-east-1" : std::string(region);
  opts.service = "sts";
  opts.content_sha256_header = false;
  const sigv4::signature sig = sigv4::sign(req, source, opts, now);
  ex.headers = {{"Content-Type", std::string(form_type)}, {"Accept", "application/xml"}};
  for (const auto& h : sig.headers_to_add) ex.headers.push_back(h);
  return ex;
}

result<timed_credentials> parse_sts_response(long status, std::string_view body, std::string_view what) {
  auto doc = xml::parse(body);
  if (status != 200) {
    if (doc) {
      // AWS wraps the error in ErrorResponse/Error; some implementations add an Errors level.
      const xml::element* err = doc->name == "Error" ? &*doc : doc->child("Error");
      if (err == nullptr && doc->child("Errors") != nullptr) err = doc->child("Errors")->child("Error");
      if (err != nullptr) {
        return fail(errc::authorization, fmt::format("{} answered HTTP {}: {}: {}", what, status, err->child_text("Code"),
                                                     err->child_text("Message")));
      }
    }
    return fail(errc::authorization, fmt::format("{} answered HTTP {}", what, status));
  }
  if (!doc) return fail(errc::authorization, fmt::format("{}: the answer is not XML", what));
  const xml::element* result_el = nullptr;
  for (const auto& c : doc->children) {
    if (c.name.ends_with("Result")) result_el = &c;
  }
  const xml::element* creds = result_el != nullptr ? result_el->child("Credentials") : nullptr;
  if (creds == nullptr) return fail(errc::authorization, fmt::format("{}: the answer has no Credentials", what));
  timed_credentials t;
  t.credentials.access_key_id = creds->child_text("AccessKeyId");
  t.credentials.secret_access_key = secret_string(creds->child_text("SecretAccessKey"));
  t.credentials.session_token = secret_string(creds->child_text("SessionToken"));
  if (t.credentials.access_key_id.empty() || t.credentials.secret_access_key.empty()) {
    return fail(errc::authorization, fmt::format("{}: AccessKeyId or SecretAccessKey is missing", what));
  }
  if (auto exp = creds->child_text("Expiration"); !exp.empty()) {
    auto when = parse_iso8601(exp);
    if (!when) return fail(errc::authorization, fmt::format("{}: Expiration: {}", what, when.error().message));
    t.expiration = *when;
  }
  return t;
}

result<timed_credentials> sts_assume_role_with_web_identity(const std::string& endpoint, const std::string& role_arn,
                                                            const std::string& session_name,
                                                            const secret_string& token, const http_client& http) {
  const std::string what = fmt::format("STS AssumeRoleWithWebIdentity for role {} at {}", role_arn, endpoint);
  const http_reply r = http(sts_web_identity_request(endpoint, role_arn, session_name, token));
  if (!r.transport_error.empty()) return fail(errc::authorization, fmt::format("{}: {}", what, r.transport_error));
  return parse_sts_response(r.status, r.body, what);
}

result<timed_credentials> sts_assume_role(const std::string& endpoint, const std::string& region,
                                          const std::string& role_arn, const aws_credentials& source,
                                          const std::string& session_name, const http_client& http) {
  const std::string what = fmt::format("STS AssumeRole for role {} at {}", role_arn, endpoint);
  const http_reply r =
      http(sts_assume_role_request(endpoint, region, role_arn, session_name, source, std::chrono::system_clock::now()));
  if (!r.transport_error.empty()) return fail(errc::authorization, fmt::format("{}: {}", what, r.transport_error));
  return parse_sts_response(r.status, r.body, what);
}

}  // namespace kb::storage
