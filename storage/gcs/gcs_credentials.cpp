#include "storage/gcs/gcs_credentials.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/interrupt.hpp"
#include "base/log.hpp"

namespace kb::storage::gcs {
namespace {

std::optional<std::string> non_empty(const env_lookup& env, std::string_view name) {
  if (!env) return std::nullopt;
  auto value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

/// The OAuth2 error of a refused token request, without anything secret: `error` and
/// `error_description` are the server's words about our request.
std::string oauth_error_text(const http_response_data& r) {
  boost::system::error_code ec;
  const auto doc = boost::json::parse(r.body, ec);
  std::string out = fmt::format("HTTP {}", r.status);
  if (!ec && doc.is_object()) {
    const auto& o = doc.as_object();
    if (const auto* e = o.if_contains("error"); e && e->is_string()) out += fmt::format(" {}", std::string(e->as_string()));
    if (const auto* d = o.if_contains("error_description"); d && d->is_string()) {
      out += fmt::format(": {}", std::string(d->as_string()).substr(0, 300));
    }
  }
  return out;
}

/// One token request with a few quick retries on transport errors and 5xx.
result<access_token> fetch_token(const http_send_fn& http, const http_request& req, const wall_clock& clock,
                                 const std::string& source, const std::string& fix) {
  http_response_data r;
  for (int attempt = 1;; ++attempt) {
    r = http(req);
    if (r.ok()) return parse_token_response(r.body, clock(), source);
    const bool transient = (r.failure != http_failure::none && r.failure != http_failure::tls &&
                            r.failure != http_failure::interrupted) ||
                           r.status >= 500 || r.status == 429 || r.status == 408;
    if (!transient || attempt >= 3) break;
    if (!interrupt::sleep_for(std::chrono::milliseconds(250 * attempt))) break;
  }
  if (r.failure == http_failure::tls) {
    return fail(errc::tls, fmt::format("SSL handshake failed with {}: {}", source, r.failure_text));
  }
  if (r.failure != http_failure::none) {
    return fail(errc::connect, fmt::format("cannot get a GCS access token from {}: {}; {}", source, r.failure_text, fix));
  }
  return fail(errc::authorization,
              fmt::format("{} refused to issue a GCS access token ({}); {}", source, oauth_error_text(r), fix));
}

result<std::string> read_small_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(errc::config, fmt::format("{} {} does not exist or is not a file; fix the path", what, path));
  }
  if (std::filesystem::file_size(path, ec) > (1u << 20)) {
    return fail(errc::config, fmt::format("{} {} is larger than 1 MiB; it is not a credentials file", what, path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::config, fmt::format("cannot read {} {}; check its permissions", what, path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A key file's provider: jwt-bearer for a service account, refresh_token for a gcloud user.
result<std::shared_ptr<token_provider>> from_file(const std::string& path, const std::string& origin,
                                                  const http_send_fn& http, const wall_clock& clock) {
  auto text = read_small_file(path, "GCS credentials file");
  if (!text) return tl::unexpected(text.error());
  auto file = parse_credentials_file(*text, path);
  if (!file) return tl::unexpected(file.error());
  const std::string source =
      file->type == "service_account"
          ? fmt::format("service account {} from {} ({}) at {}", file->client_email, path, origin, file->token_uri)
          : fmt::format("gcloud user credentials from {} ({}) at {}", path, origin, file->token_uri);
  const std::string fix =
      file->type == "service_account"
          ? "check that the key is not deleted or disabled (gcloud iam service-accounts keys list) and that the "
            "clock is right, or download a new key"
          : "run `gcloud auth application-default login` again";
  auto cf = std::make_shared<credentials_file>(std::move(*file));
  token_provider::fetch_fn fetch = [cf, http, clock, source, fix]() -> result<access_token> {
    http_headers form;
    if (cf->type == "service_account") {
      auto jwt = make_jwt_assertion(*cf, storage_scope, clock());
      if (!jwt) return tl::unexpected(jwt.error());
      form = {{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", *jwt}};
    } else {
      form = {{"grant_type", "refresh_token"},
              {"client_id", cf->client_id},
              {"client_secret", cf->client_secret.reveal()},
              {"refresh_token", cf->refresh_token.reveal()}};
    }
    const std::string body = form_body(form);
    http_request req{"POST", cf->token_uri, {{"Content-Type", "application/x-www-form-urlencoded"}}, {as_bytes(body)}};
    req.total_timeout = std::chrono::seconds(30);
    return fetch_token(http, req, clock, source, fix);
  };
  auto first = fetch();
  if (!first) return tl::unexpected(first.error());
  return std::make_shared<token_provider>(source, std::move(fetch), std::move(*first), clock);
}

result<std::shared_ptr<token_provider>> from_metadata(std::string endpoint, const http_send_fn& http,
                                                      const wall_clock& clock) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string source = fmt::format("the metadata server {}", endpoint);
  const std::string url = fmt::format("{}/computeMetadata/v1/instance/service-accounts/default/token?scopes={}",
                                      endpoint, url_encode(storage_scope));
  const std::string fix =
      "on GCE attach a service account to the VM; on GKE bind the Kubernetes service account to a Google "
      "service account (workload identity); elsewhere set storage.service_account_path or "
      "GOOGLE_APPLICATION_CREDENTIALS";
  token_provider::fetch_fn fetch = [http, clock, source, url, fix]() -> result<access_token> {
    http_request req{"GET", url, {{"Metadata-Flavor", "Google"}}, {}};
    req.connect_timeout = std::chrono::seconds(2);
    req.total_timeout = std::chrono::seconds(10);
    return fetch_token(http, req, clock, source, fix);
  };
  auto first = fetch();
  if (!first) return tl::unexpected(first.error());
  return std::make_shared<token_provider>(source, std::move(fetch), std::move(*first), clock);
}

}  // namespace

token_provider::token_provider(std::string source, fetch_fn fetch, access_token first, wall_clock clock)
    : source_(std::move(source)), fetch_(std::move(fetch)), clock_(std::move(clock)), held_(std::move(first)) {
  if (held_.expiration) refresh_at_ = refresh_time(clock_(), *held_.expiration);
}

result<std::optional<std::string>> token_provider::authorization() {
  if (!fetch_) return std::optional<std::string>();
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  if (invalid_ || (refresh_at_ && now >= *refresh_at_)) {
    auto fresh = fetch_();
    if (fresh) {
      held_ = std::move(*fresh);
      refresh_at_ = held_.expiration ? std::optional(refresh_time(now, *held_.expiration)) : std::nullopt;
      invalid_ = false;
      log::debug("gcs: access token from {} refreshed", source_);
    } else if (invalid_ || (held_.expiration && now >= *held_.expiration)) {
      return tl::unexpected(fresh.error());
    } else {
      log::warn("gcs: refreshing the access token failed ({}); the current one is used while it lasts",
                fresh.error().message);
    }
  }
  return std::optional<std::string>("Bearer " + held_.token.reveal());
}

void token_provider::invalidate() {
  std::lock_guard lock(mutex_);
  invalid_ = true;
}

result<std::shared_ptr<token_provider>> resolve_credentials(const auth_settings& settings, const env_lookup& env) {
  const http_send_fn http =
      settings.http ? settings.http : send_through(std::make_shared<http_transport>(http_transport_options{}));
  const wall_clock clock = settings.clock ? settings.clock : wall_clock([] { return std::chrono::system_clock::now(); });
  if (settings.anonymous) {
    return std::make_shared<token_provider>("no credentials (STORAGE_EMULATOR_HOST is set)", nullptr, access_token{},
                                            clock);
  }
  if (!settings.service_account_path.empty()) {
    return from_file(settings.service_account_path, "storage.service_account_path", http, clock);
  }
  if (auto path = non_empty(env, "GOOGLE_APPLICATION_CREDENTIALS")) {
    return from_file(*path, "GOOGLE_APPLICATION_CREDENTIALS", http, clock);
  }
  // gcloud's well-known file, as Application Default Credentials look for it.
  std::string well_known;
  if (auto dir = non_empty(env, "CLOUDSDK_CONFIG")) {
    well_known = *dir + "/application_default_credentials.json";
  } else if (auto home = non_empty(env, "HOME")) {
    well_known = *home + "/.config/gcloud/application_default_credentials.json";
  }
  std::error_code ec;
  if (!well_known.empty() && std::filesystem::is_regular_file(well_known, ec)) {
    return from_file(well_known, "gcloud application default credentials", http, clock);
  }
  std::string endpoint = settings.metadata_endpoint;
  if (endpoint.empty()) {
    if (auto host = non_empty(env, "GCE_METADATA_HOST")) {
      endpoint = host->find("://") == std::string::npos ? "http://" + *host : *host;
    } else {
      endpoint = "http://169.254.169.254";
    }
  }
  auto meta = from_metadata(endpoint, http, clock);
  if (!meta) {
    return fail(meta.error().code,
                fmt::format("no GCS credentials: storage.service_account_path and GOOGLE_APPLICATION_CREDENTIALS are "
                            "not set, no gcloud application default credentials file, and {}",
                            meta.error().message));
  }
  return meta;
}

}  // namespace kb::storage::gcs
