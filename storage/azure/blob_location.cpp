#include "storage/azure/blob_location.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/url.hpp"

namespace kb::storage::azure {
namespace {

constexpr std::string_view url_forms =
    "use azure://CONTAINER@ACCOUNT.blob.core.windows.net/prefix or azure://ACCOUNT/CONTAINER/prefix?endpoint=URL";

bool valid_account(std::string_view a) noexcept {
  if (a.size() < 3 || a.size() > 24) return false;
  for (const char c : a) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool valid_container(std::string_view c) noexcept {
  if (c.size() < 3 || c.size() > 63 || c.front() == '-' || c.back() == '-') return false;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const char ch = c[i];
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
    if (!ok || (ch == '-' && i > 0 && c[i - 1] == '-')) return false;
  }
  return true;
}

std::string env_value(const env_lookup& env, std::string_view name) {
  if (!env) return {};
  auto v = env(name);
  return v ? *v : std::string();
}

}  // namespace

result<azure_url> parse_azure_url(const url::url_parts& parts, std::string_view shown) {
  azure_url out;
  const std::string_view path = std::string_view(parts.path).substr(parts.path.starts_with('/') ? 1 : 0);
  if (parts.has_userinfo) {
    // CONTAINER@ACCOUNT.blob.core.windows.net/prefix
    out.container = parts.user;
    const std::string_view host = std::string_view(parts.authority).substr(parts.authority.rfind('@') + 1);
    out.account = std::string(host.substr(0, host.find('.')));
    if (host.find('.') == std::string_view::npos) {
      return fail(errc::invalid_argument,
                  fmt::format("storage URL {}: '{}' is not a blob service host name; {}", shown, host, url_forms));
    }
    out.endpoint = fmt::format("https://{}", host);
    out.prefix = std::string(path);
  } else {
    // ACCOUNT/CONTAINER/prefix
    out.account = parts.authority;
    const auto cslash = path.find('/');
    out.container = std::string(path.substr(0, cslash));
    if (cslash != std::string_view::npos) out.prefix = std::string(path.substr(cslash + 1));
  }
  if (!valid_account(out.account)) {
    return fail(errc::invalid_argument,
                fmt::format("storage URL {} has no valid storage account name (3-24 lower-case letters and "
                            "digits); {}",
                            shown, url_forms));
  }
  if (!valid_container(out.container)) {
    return fail(errc::invalid_argument,
                fmt::format("storage URL {} has no valid container name (3-63 lower-case letters, digits "
                            "and single hyphens); {}",
                            shown, url_forms));
  }
  for (const auto& [key, value] : parts.query) {
    if (key == "endpoint") {
      auto u = url::parse_http_url(value);
      if (!u) {
        return fail(errc::invalid_argument,
                    fmt::format("Azure endpoint '{}' must be an http:// or https:// URL such as "
                                "http://127.0.0.1:10000: {}",
                                url::redact(value), u.error().message));
      }
      out.endpoint = std::move(u->text);
    } else {
      return fail(errc::invalid_argument,
                  fmt::format("unknown azure:// URL parameter '{}'; known: endpoint (credentials come from the "
                              "config or AZURE_STORAGE_KEY / AZURE_STORAGE_SAS_TOKEN / Azure AD variables)",
                              key));
    }
  }
  return out;
}

result<void> check_names(std::string_view account, std::string_view container) {
  if (!valid_account(account)) {
    return fail(errc::config, fmt::format("storage.account_name '{}' is not a storage account name: 3-24 lower-case "
                                          "letters and digits",
                                          account));
  }
  if (!valid_container(container)) {
    return fail(errc::config, fmt::format("storage.container_name '{}' is not a container name: 3-63 lower-case "
                                          "letters, digits and single hyphens, starting and ending with a letter or "
                                          "digit",
                                          container));
  }
  return {};
}

std::string account_endpoint(std::string_view account, std::string_view endpoint) {
  std::string e(endpoint);
  while (!e.empty() && e.back() == '/') e.pop_back();
  if (e.empty()) return fmt::format("https://{}.blob.core.windows.net", account);
  const auto u = url::parse_http_url(e);
  if (!u) return e;  // make_blob_store refuses it with the reason
  if (!u->path.empty()) return e;  // already names the account's path
  if (u->host.starts_with(std::string(account) + ".")) return e;
  return e + "/" + std::string(account);
}

result<blob_options> resolve_blob_options(std::string account, std::string container, std::string prefix,
                                          const std::string& endpoint, const azure_settings& settings,
                                          const env_lookup& env) {
  blob_options out;
  out.account = std::move(account);
  out.container = std::move(container);
  out.prefix = std::move(prefix);
  out.endpoint = account_endpoint(out.account, endpoint);
  out.encryption_scope = settings.encryption_scope;
  out.customer_key = settings.customer_key;
  out.ca_file = settings.ca_file.empty() ? env_value(env, "AZURE_CA_FILE") : settings.ca_file;

  const bool ad_configured = settings.use_workload_identity || !settings.client_secret.empty();
  if (!settings.account_key.empty() + !settings.sas_token.empty() + ad_configured > 1) {
    return fail(errc::config, "Azure storage has more than one of account_key, sas_token and Azure AD settings "
                              "(use_workload_identity / client_secret); keep exactly one");
  }
  secret_string key = settings.account_key;
  secret_string sas = settings.sas_token;
  if (key.empty() && sas.empty() && !ad_configured) {
    if (auto k = env_value(env, "AZURE_STORAGE_KEY"); !k.empty()) {
      key = secret_string(std::move(k));
    } else if (auto s = env_value(env, "AZURE_STORAGE_SAS_TOKEN"); !s.empty()) {
      sas = secret_string(std::move(s));
    }
  }
  if (!key.empty()) {
    out.auth = auth_mode::shared_key;
    out.account_key = std::move(key);
    out.credential_source = settings.account_key.empty() ? "account key from AZURE_STORAGE_KEY"
                                                         : "account key (storage.account_key)";
  } else if (!sas.empty()) {
    out.auth = auth_mode::sas;
    out.sas_token = std::move(sas);
    out.credential_source = settings.sas_token.empty() ? "SAS token from AZURE_STORAGE_SAS_TOKEN"
                                                       : "SAS token (storage.sas_token)";
  } else {
    ad_settings ad;
    ad.source = settings.use_workload_identity ? "workload_identity"
                : !settings.client_secret.empty() ? "client_secret"
                                                  : "auto";
    ad.tenant_id = settings.tenant_id;
    ad.client_id = settings.client_id;
    ad.client_secret = settings.client_secret;
    ad.authority_host = settings.authority_host;
    ad.imds_endpoint = settings.imds_endpoint;
    token_http http = settings.http;
    if (!http) {
      http_transport_options t;
      t.connect_timeout = std::chrono::milliseconds(2000);  // IMDS off Azure must not hold the start up
      t.stall_timeout = std::chrono::milliseconds(15000);
      t.ca_file = out.ca_file;
      http = transport_token_http(std::make_shared<http_transport>(t));
    }
    auto provider = resolve_ad_token(ad, env, http);
    if (!provider) {
      return fail(provider.error().code,
                  fmt::format("no usable Azure credentials for azure://{}/{}: account_key (or AZURE_STORAGE_KEY) "
                              "and sas_token (or AZURE_STORAGE_SAS_TOKEN) are not set, and Azure AD failed: {}",
                              out.account, out.container, provider.error().message));
    }
    out.auth = auth_mode::bearer;
    out.token = std::move(*provider);
    out.credential_source = out.token->source();
  }
  return out;
}

}  // namespace kb::storage::azure
