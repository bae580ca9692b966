#include "storage/gcs/gcs_location.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/url.hpp"
#include "storage/gcs/gcs_credentials.hpp"
#include "storage/gcs/gcs_store.hpp"

namespace kb::storage::gcs {
namespace {

result<std::string> check_endpoint(std::string_view endpoint, std::string_view what) {
  auto u = url::parse_http_url(endpoint);
  if (!u || !u->path.empty() || u->has_query || u->has_fragment) {
    return fail(errc::invalid_argument,
                fmt::format("GCS {} '{}' must be an http:// or https:// URL without a path, such as "
                            "http://127.0.0.1:4443{}",
                            what, url::redact(endpoint), u ? std::string() : ": " + u.error().message));
  }
  return std::move(u->text);
}

}  // namespace

bool valid_bucket_name(std::string_view b) noexcept {
  const bool dotted = b.find('.') != std::string_view::npos;
  if (b.size() < 3 || b.size() > (dotted ? 222u : 63u)) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) return false;
  for (const char c : b) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

result<location> parse_gcs_url(std::string_view scheme, std::string_view url) {
  auto parts = split_bucket_url(url);
  if (!parts) return tl::unexpected(parts.error());
  location out;
  out.kind = backend_kind::gcs;
  out.bucket = std::move(parts->bucket);
  if (!valid_bucket_name(out.bucket)) {
    return fail(errc::invalid_argument,
                fmt::format("storage URL {} has no valid GCS bucket name (3-63 characters: a-z, 0-9, '-', "
                            "'_', '.'); use {}://bucket/prefix",
                            url::redact(url.substr(0, url.find('?'))), scheme));
  }
  out.prefix = std::move(parts->prefix);
  for (const auto& [key, value] : parts->query) {
    if (key != "endpoint") {
      return fail(errc::invalid_argument,
                  fmt::format("unknown storage URL parameter '{}' for {}://; known: endpoint", key, scheme));
    }
    auto endpoint = check_endpoint(value, "endpoint");
    if (!endpoint) return tl::unexpected(endpoint.error());
    out.endpoint = std::move(*endpoint);
  }
  return out;
}

std::string gcs_url(const location& where) {
  std::string out = fmt::format("gs://{}/{}", where.bucket, where.prefix);
  if (!where.endpoint.empty()) out += "?endpoint=" + where.endpoint;
  return out;
}

result<resolved_endpoint> resolve_endpoint(const location& where, const env_lookup& env) {
  if (!where.endpoint.empty()) {
    auto url = check_endpoint(where.endpoint, "storage.endpoint");
    if (!url) return fail(errc::config, url.error().message);
    return resolved_endpoint{std::move(*url), false};
  }
  if (env) {
    if (auto host = env("STORAGE_EMULATOR_HOST"); host && !host->empty()) {
      const std::string with_scheme = host->find("://") == std::string::npos ? "http://" + *host : *host;
      auto url = check_endpoint(with_scheme, "STORAGE_EMULATOR_HOST");
      if (!url) return fail(errc::config, url.error().message);
      return resolved_endpoint{std::move(*url), true};
    }
  }
  return resolved_endpoint{std::string(default_endpoint), false};
}

result<std::unique_ptr<object_store>> open_gcs_store(const location& where, const store_settings& settings,
                                                     const env_lookup& env) {
  if (!valid_bucket_name(where.bucket)) {
    return fail(errc::config, fmt::format("storage.bucket '{}' is not a valid GCS bucket name (3-63 characters: "
                                          "a-z, 0-9, '-', '_', '.')",
                                          where.bucket));
  }
  auto endpoint = resolve_endpoint(where, env);
  if (!endpoint) return tl::unexpected(endpoint.error());
  auth_settings auth;
  auth.service_account_path = settings.gcs_service_account_path;
  auth.metadata_endpoint = settings.gcs_metadata_endpoint;
  // Google's libraries send no credentials to an emulator; an explicit key file still wins.
  auth.anonymous = endpoint->emulator && auth.service_account_path.empty();
  auto tokens = resolve_credentials(auth, env);
  if (!tokens) {
    return fail(tokens.error().code, fmt::format("{} (for {})", tokens.error().message, gcs_url(where)));
  }
  log::info("gcs: {} at {}, credentials from {}", gcs_url(where), endpoint->url, (*tokens)->source());
  gcs_options options;
  options.bucket = where.bucket;
  options.prefix = where.prefix;
  options.endpoint = endpoint->url;
  options.kms_key_name = settings.gcs_kms_key_name;
  options.tokens = std::move(*tokens);
  if (settings.retry_budget.count() > 0) options.retry_budget = settings.retry_budget;
  if (settings.stall_timeout.count() > 0) options.stall_timeout = settings.stall_timeout;
  return make_gcs_store(std::move(options));
}

}  // namespace kb::storage::gcs
