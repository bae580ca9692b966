#include "storage/azure/ad_token.hpp"

#include <fstream>
#include <sstream>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "base/token_time.hpp"

namespace kb::storage::azure {
namespace {

using clock_type = std::chrono::system_clock;

std::string env_or(const env_lookup& env, std::string_view name, const std::string& configured) {
  if (!configured.empty()) return configured;
  if (!env) return {};
  auto v = env(name);
  return v ? *v : std::string();
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

/// The error an endpoint's answer means: the OAuth error code and description (which never
/// hold the secret), or the HTTP status.
kb::error endpoint_error(const http_response_data& r, std::string_view what, std::string_view url,
                         std::string_view fix) {
  if (r.failure != http_failure::none) {
    return {make_error_code(r.failure == http_failure::connect ? errc::connect : errc::io),
            fmt::format("{}: cannot reach {} ({}); {}", what, url, r.failure_text, fix)};
  }
  std::string detail = fmt::format("HTTP {}", r.status);
  boost::system::error_code ec;
  auto doc = boost::json::parse(r.body, ec);
  if (!ec && doc.is_object()) {
    const auto& o = doc.as_object();
    if (const auto* e = o.if_contains("error"); e != nullptr && e->is_string()) {
      detail += fmt::format(" {}", std::string(e->as_string()));
    }
    if (const auto* d = o.if_contains("error_description"); d != nullptr && d->is_string()) {
      std::string text(d->as_string());
      if (const auto nl = text.find_first_of("\r\n"); nl != std::string::npos) text.resize(nl);
      detail += fmt::format(": {}", text);
    }
  }
  const bool refused = r.status == 400 || r.status == 401 || r.status == 403;
  return {make_error_code(refused ? errc::authorization : errc::io),
          fmt::format("{}: {} answered {}; {}", what, url, detail, fix)};
}

result<access_token> post_token(const token_http& http, const std::string& url,
                                const std::vector<std::pair<std::string, std::string>>& fields,
                                std::string_view what, std::string_view fix, const wall_clock& clock) {
  token_request req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = form_body(fields);
  const auto r = http(req);
  if (r.failure != http_failure::none || r.status != 200) return tl::unexpected(endpoint_error(r, what, url, fix));
  return parse_token_json(r.body, clock(), what);
}

result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(errc::config, fmt::format("workload identity: cannot read the federated token file '{}' "
                                          "(AZURE_FEDERATED_TOKEN_FILE); check the projected service account "
                                          "token volume",
                                          path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.empty()) {
    return fail(errc::config, fmt::format("workload identity: the federated token file '{}' is empty", path));
  }
  return text;
}

/// The settings with the AZURE_* environment filled in where a setting is empty.
struct ad_inputs {
  std::string tenant;
  std::string client;
  secret_string secret;
  std::string token_file;
  std::string imds;
  std::string token_url;
  std::string scope;
};

ad_inputs read_inputs(const ad_settings& settings, const env_lookup& env) {
  ad_inputs in;
  in.tenant = env_or(env, "AZURE_TENANT_ID", settings.tenant_id);
  in.client = env_or(env, "AZURE_CLIENT_ID", settings.client_id);
  in.secret = settings.client_secret;
  if (in.secret.empty() && env) {
    if (auto s = env("AZURE_CLIENT_SECRET"); s && !s->empty()) in.secret = secret_string(*s);
  }
  in.token_file = env_or(env, "AZURE_FEDERATED_TOKEN_FILE", settings.federated_token_file);
  std::string authority = trim_slash(env_or(env, "AZURE_AUTHORITY_HOST", settings.authority_host));
  if (authority.empty()) authority = "https://login.microsoftonline.com";
  in.imds = trim_slash(env_or(env, "AZURE_IMDS_ENDPOINT", settings.imds_endpoint));
  if (in.imds.empty()) in.imds = "http://169.254.169.254";
  in.token_url = fmt::format("{}/{}/oauth2/v2.0/token", authority, in.tenant);
  in.scope = settings.scope;
  return in;
}

/// The configured source, or for "auto" the first one whose inputs are all present (managed
/// identity last); `skipped` collects why the earlier ones were passed over.
result<std::string> choose_source(const std::string& configured, const ad_inputs& in,
                                  std::vector<std::string>& skipped) {
  std::string source = configured.empty() ? "auto" : configured;
  if (source != "auto" && source != "client_secret" && source != "workload_identity" && source != "managed_identity") {
    return fail(errc::config, fmt::format("unknown Azure AD credential source '{}'; use one of {}", source,
                                          ad_source_names));
  }
  if (source != "auto") return source;
  if (!in.tenant.empty() && !in.client.empty() && !in.secret.empty()) return std::string("client_secret");
  skipped.push_back("client secret (needs tenant_id, client_id and client_secret / AZURE_TENANT_ID, "
                    "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)");
  if (!in.tenant.empty() && !in.client.empty() && !in.token_file.empty()) return std::string("workload_identity");
  skipped.push_back("workload identity (needs AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID)");
  return std::string("managed_identity");
}

/// How one source fetches a token, and its name for logs and errors.
struct fetch_plan {
  token_provider::fetch_fn fetch;
  std::string label;
};

result<fetch_plan> client_secret_fetch(const ad_inputs& in, const token_http& http, const wall_clock& clock) {
  if (in.tenant.empty() || in.client.empty() || in.secret.empty()) {
    return fail(errc::config, "Azure AD client secret authentication needs storage.tenant_id, storage.client_id "
                              "and storage.client_secret (or AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)");
  }
  fetch_plan plan;
  plan.label = fmt::format("Azure AD client secret (tenant {}, client {})", in.tenant, in.client);
  const std::string fix = "check tenant_id, client_id and client_secret, and that the app registration's secret "
                          "has not expired";
  plan.fetch = [http, token_url = in.token_url, client = in.client, secret = in.secret, scope = in.scope,
                label = plan.label, fix, clock] {
    return post_token(http, token_url,
                      {{"grant_type", "client_credentials"},
                       {"client_id", client},
                       {"client_secret", secret.reveal()},
                       {"scope", scope}},
                      label, fix, clock);
  };
  return plan;
}

result<fetch_plan> workload_identity_fetch(const ad_inputs& in, const token_http& http, const wall_clock& clock) {
  if (in.tenant.empty() || in.client.empty() || in.token_file.empty()) {
    return fail(errc::config, "Azure workload identity (storage.use_workload_identity) needs AZURE_FEDERATED_TOKEN_FILE, "
                              "AZURE_CLIENT_ID and AZURE_TENANT_ID (set by the AKS workload identity webhook when "
                              "the pod's service account is annotated with azure.workload.identity/client-id), or "
                              "storage.client_id and storage.tenant_id");
  }
  fetch_plan plan;
  plan.label = fmt::format("Azure workload identity (tenant {}, client {}, token file {})", in.tenant, in.client,
                           in.token_file);
  const std::string fix = "check the federated identity credential of the app (issuer, subject "
                          "system:serviceaccount:NAMESPACE:NAME) and AZURE_CLIENT_ID / AZURE_TENANT_ID";
  plan.fetch = [http, token_url = in.token_url, client = in.client, token_file = in.token_file, scope = in.scope,
                label = plan.label, fix, clock]() -> result<access_token> {
    auto assertion = read_token_file(token_file);  // re-read: kubelet rotates it
    if (!assertion) return tl::unexpected(assertion.error());
    return post_token(http, token_url,
                      {{"grant_type", "client_credentials"},
                       {"client_id", client},
                       {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                       {"client_assertion", *assertion},
                       {"scope", scope}},
                      label, fix, clock);
  };
  return plan;
}

result<fetch_plan> managed_identity_fetch(const ad_inputs& in, const token_http& http, const wall_clock& clock) {
  std::string resource = in.scope;
  if (resource.ends_with("/.default")) resource.resize(resource.size() - std::string_view("/.default").size());
  std::string url = fmt::format("{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={}", in.imds,
                                url_encode(resource));
  if (!in.client.empty()) url += "&client_id=" + url_encode(in.client);
  fetch_plan plan;
  plan.label = in.client.empty() ? fmt::format("Azure managed identity (IMDS {})", in.imds)
                                 : fmt::format("Azure managed identity (IMDS {}, client {})", in.imds, in.client);
  const std::string fix = "assign a managed identity to the VM / node pool and grant it a Storage Blob Data role, or "
                          "configure account_key, sas_token, a client secret or workload identity";
  plan.fetch = [http, url, label = plan.label, fix, clock]() -> result<access_token> {
    token_request req{"GET", url, {{"Metadata", "true"}}, {}};
    const auto r = http(req);
    if (r.failure != http_failure::none || r.status != 200) {
      return tl::unexpected(endpoint_error(r, label, url, fix));
    }
    return parse_token_json(r.body, clock(), label);
  };
  return plan;
}

}  // namespace

token_http transport_token_http(const std::shared_ptr<http_transport>& transport) {
  return [transport](const token_request& req) {
    const std::string_view body(req.body);
    return transport->perform(req.method, req.url, req.headers,
                              byte_view(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
  };
}

result<access_token> parse_token_json(std::string_view json, clock_type::time_point now, std::string_view what) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) {
    return fail(errc::protocol, fmt::format("{}: the token endpoint's answer is not a JSON object", what));
  }
  const auto& o = doc.as_object();
  const auto* token = o.if_contains("access_token");
  if (token == nullptr || !token->is_string() || token->as_string().empty()) {
    return fail(errc::protocol, fmt::format("{}: the token endpoint's answer has no access_token", what));
  }
  // Azure sends numbers or numeric strings; a server's value is bounded before it meets the clock.
  auto seconds = [](const boost::json::value* v) -> std::optional<double> {
    if (v == nullptr) return std::nullopt;
    if (v->is_number()) return v->to_number<double>();
    if (v->is_string()) {
      try {
        return std::stod(std::string(v->as_string()));
      } catch (...) {
        return std::nullopt;
      }
    }
    return std::nullopt;
  };
  access_token out;
  out.token = secret_string(std::string(token->as_string()));
  if (auto on = seconds(o.if_contains("expires_on"))) {
    out.expires = bounded_expiry(*on, now);
  } else if (auto in = seconds(o.if_contains("expires_in"))) {
    out.expires = now + bounded_lifetime(*in);
  } else {
    out.expires = now + std::chrono::minutes(5);  // no lifetime given: assume a short one
  }
  return out;
}

token_provider::token_provider(std::string source, fetch_fn fetch, access_token first, wall_clock clock)
    : source_(std::move(source)), fetch_(std::move(fetch)), clock_(std::move(clock)), held_(std::move(first)) {
  if (!clock_) clock_ = [] { return clock_type::now(); };
  refresh_at_ = refresh_time(clock_(), held_.expires);
}

result<std::string> token_provider::current() {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  if (now >= refresh_at_ && fetch_) {
    auto next = fetch_();
    if (next) {
      held_ = std::move(*next);
      refresh_at_ = refresh_time(now, held_.expires);
    } else if (now >= held_.expires) {
      return fail(next.error().code, fmt::format("the Azure AD token from {} expired and could not be renewed: {}",
                                                 source_, next.error().message));
    } else {
      log::warn("azure: renewing the Azure AD token from {} failed ({}); the current one is valid until it "
                "expires", source_, next.error().message);
      refresh_at_ = now + std::chrono::seconds(10);
    }
  }
  return held_.token.reveal();
}

result<std::shared_ptr<token_provider>> resolve_ad_token(const ad_settings& settings, const env_lookup& env,
                                                         const token_http& http, wall_clock clock) {
  if (!clock) clock = [] { return clock_type::now(); };
  const ad_inputs in = read_inputs(settings, env);
  std::vector<std::string> skipped;
  auto source = choose_source(settings.source, in, skipped);
  if (!source) return fail(std::move(source.error()));
  auto plan = *source == "client_secret"       ? client_secret_fetch(in, http, clock)
              : *source == "workload_identity" ? workload_identity_fetch(in, http, clock)
                                               : managed_identity_fetch(in, http, clock);
  if (!plan) return fail(std::move(plan.error()));
  auto first = plan->fetch();
  if (!first) {
    std::string tried;
    for (const auto& s : skipped) tried += "; not configured: " + s;
    return fail(first.error().code, fmt::format("{}{}", first.error().message, tried));
  }
  log::info("azure: authenticating with {}", plan->label);
  return std::make_shared<token_provider>(plan->label, std::move(plan->fetch), std::move(*first), clock);
}

}  // namespace kb::storage::azure
