#include "storage/location.hpp"

#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "base/url.hpp"
#include "storage/filesystem_store.hpp"
#include "storage/gcs/gcs_location.hpp"

namespace kb::storage {
namespace {

bool valid_bucket(std::string_view bucket) noexcept {
  if (bucket.empty() || bucket.size() > 255) return false;
  for (const char c : bucket) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

result<bool> parse_bool(std::string_view text, std::string_view key) {
  if (text == "true" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "no") return false;
  return fail(errc::invalid_argument,
              fmt::format("storage URL parameter {}={} is not a boolean; use true or false", key,
                          text));
}

result<std::string> normalize_endpoint(std::string_view endpoint) {
  auto u = url::parse_http_url(endpoint);
  if (!u) {
    return fail(errc::invalid_argument,
                fmt::format("S3 endpoint '{}' must be an http:// or https:// URL such as "
                            "http://127.0.0.1:7070: {}",
                            url::redact(endpoint), u.error().message));
  }
  if (!u->path.empty() || u->has_query || u->has_fragment) {
    return fail(errc::invalid_argument,
                fmt::format("S3 endpoint '{}' must not have a path; put the bucket and prefix in "
                            "the s3:// URL",
                            endpoint));
  }
  return std::move(u->text);
}

result<location> parse_s3(std::string_view url) {
  auto parts = split_bucket_url(url);
  if (!parts) return tl::unexpected(parts.error());
  location out;
  out.kind = backend_kind::s3;
  out.bucket = std::move(parts->bucket);
  if (!valid_bucket(out.bucket)) {
    return fail(errc::invalid_argument,
                fmt::format("storage URL {} has no valid bucket name; use s3://bucket/prefix",
                            url::redact(url.substr(0, url.find('?')))));
  }
  out.prefix = std::move(parts->prefix);
  for (const auto& [key, value] : parts->query) {
    if (key == "endpoint") {
      auto endpoint = normalize_endpoint(value);
      if (!endpoint) return tl::unexpected(endpoint.error());
      out.endpoint = std::move(*endpoint);
    } else if (key == "region") {
      out.region = value;
    } else if (key == "path_style" || key == "force_path_style") {
      auto flag = parse_bool(value, key);
      if (!flag) return tl::unexpected(flag.error());
      out.path_style = *flag;
    } else if (key == "allow_http") {
      // Accepted for OSO compatibility: an http:// endpoint is allowed by being written.
      auto flag = parse_bool(value, key);
      if (!flag) return tl::unexpected(flag.error());
    } else {
      return fail(errc::invalid_argument,
                  fmt::format("unknown storage URL parameter '{}'; known: endpoint, region, path_style", key));
    }
  }
  return out;
}

std::optional<std::string> non_empty(const env_lookup& env, std::string_view name) {
  if (!env) return std::nullopt;
  auto value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

}  // namespace

result<bucket_url> split_bucket_url(std::string_view url) {
  auto parts = url::parse_lenient(url);
  if (!parts) {
    return fail(errc::invalid_argument, fmt::format("storage URL '{}': {}", url::redact(url), parts.error().message));
  }
  bucket_url out;
  out.bucket = std::move(parts->authority);
  auto prefix = normalize_prefix(parts->path);
  if (!prefix) return tl::unexpected(prefix.error());
  out.prefix = std::move(*prefix);
  out.query = std::move(parts->query);
  return out;
}

std::string location::to_url() const {
  if (kind == backend_kind::filesystem) {
    std::string out = path;
    if (!prefix.empty()) {
      if (!out.empty() && out.back() != '/') out.push_back('/');
      out += prefix;
    }
    return out;
  }
  if (kind == backend_kind::azure) {
    std::string out = fmt::format("azure://{}/{}/{}", account, container, prefix);
    if (!endpoint.empty()) out += "?endpoint=" + endpoint;
    return out;
  }
  if (kind == backend_kind::gcs) return gcs::gcs_url(*this);
  std::string out = fmt::format("s3://{}/{}", bucket, prefix);
  std::vector<std::string> params;
  if (!endpoint.empty()) params.push_back("endpoint=" + endpoint);
  if (!region.empty()) params.push_back("region=" + region);
  if (path_style) params.push_back(std::string("path_style=") + (*path_style ? "true" : "false"));
  for (std::size_t i = 0; i < params.size(); ++i) {
    out.push_back(i == 0 ? '?' : '&');
    out += params[i];
  }
  return out;
}

result<std::string> normalize_prefix(std::string_view prefix) {
  std::string out;
  std::size_t i = 0;
  while (i <= prefix.size()) {
    const auto slash = prefix.find('/', i);
    const std::size_t end = slash == std::string_view::npos ? prefix.size() : slash;
    const std::string_view segment = prefix.substr(i, end - i);
    if (segment == "." || segment == "..") {
      return fail(errc::invalid_argument,
                  fmt::format("storage prefix '{}' contains a '.' or '..' segment; name the "
                              "folder directly",
                              prefix));
    }
    if (!segment.empty()) {
      out += segment;
      out.push_back('/');
    }
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  if (!out.empty()) {
    if (auto ok = validate_prefix(out); !ok) return tl::unexpected(ok.error());
  }
  return out;
}

result<location> parse_location(std::string_view url) {
  if (url.empty()) {
    return fail(errc::invalid_argument,
                "storage location is empty; give a directory, file:///abs/path, s3://bucket/prefix or "
                "azure://ACCOUNT/CONTAINER/prefix");
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    location out;
    out.path = std::string(url);
    return out;
  }
  const std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "file" && scheme != "s3" && scheme != "azure" && scheme != "gcs" && scheme != "gs") {
    return fail(errc::invalid_argument,
                fmt::format("unknown storage URL scheme '{}://'; use a path, file:///abs/path, "
                            "s3://bucket/prefix, azure://ACCOUNT/CONTAINER/prefix or gs://bucket/prefix",
                            url::redact(scheme)));
  }
  auto parts = url::parse_lenient(url);
  if (!parts) {
    return fail(errc::invalid_argument, fmt::format("storage URL '{}': {}", url::redact(url), parts.error().message));
  }
  if (parts->has_password) {
    return fail(errc::invalid_argument,
                fmt::format("storage URL '{}' carries user:password@; credentials do not belong in the URL: set them "
                            "in the storage section of the config or in the environment",
                            url::redact(url)));
  }
  if (scheme == "file") {
    if ((!parts->authority.empty() && parts->authority != "localhost") || !parts->path.starts_with('/')) {
      return fail(errc::invalid_argument,
                  fmt::format("file URL '{}' must name an absolute path: file:///abs/path", url::redact(url)));
    }
    location out;
    out.path = std::move(parts->path);
    return out;
  }
  if (scheme == "s3") return parse_s3(url);
  if (scheme == "azure") {
    auto az = azure::parse_azure_url(*parts, url::redact(url));
    if (!az) return tl::unexpected(az.error());
    location out;
    out.kind = backend_kind::azure;
    out.account = std::move(az->account);
    out.container = std::move(az->container);
    out.endpoint = std::move(az->endpoint);
    auto prefix = normalize_prefix(az->prefix);
    if (!prefix) return tl::unexpected(prefix.error());
    out.prefix = std::move(*prefix);
    return out;
  }
  return gcs::parse_gcs_url(scheme, url);
}

env_lookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

result<s3_options> resolve_s3_options(const location& where, const store_settings& settings,
                                      const env_lookup& env) {
  s3_options out;
  out.bucket = where.bucket;
  out.prefix = where.prefix;
  out.endpoint = where.endpoint;
  // As the AWS SDKs: the service-specific variable first, then the global one.
  if (out.endpoint.empty()) out.endpoint = non_empty(env, "AWS_ENDPOINT_URL_S3").value_or("");
  if (out.endpoint.empty()) out.endpoint = non_empty(env, "AWS_ENDPOINT_URL").value_or("");
  out.path_style = where.path_style.value_or(!out.endpoint.empty());
  if (!where.region.empty()) {
    out.region = where.region;
  } else if (auto r = non_empty(env, "AWS_REGION")) {
    out.region = *r;
  } else if (auto d = non_empty(env, "AWS_DEFAULT_REGION")) {
    out.region = *d;
  } else {
    out.region = "us-east-1";
  }

  const std::string where_text = where.to_url();
  if (settings.access_key.empty() != settings.secret_key.empty()) {
    return fail(errc::config,
                fmt::format("storage for {} has only one of access_key and secret_key; set both "
                            "or neither (then the credential chain is used: AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, container or instance credentials)",
                            where_text));
  }
  credential_settings cs;
  cs.source = settings.credential_source.empty() ? "auto" : settings.credential_source;
  cs.access_key = settings.access_key;
  cs.secret_key = settings.secret_key;
  cs.session_token = settings.session_token;
  cs.imds_endpoint = settings.imds_endpoint;
  cs.imds_v1 = settings.imds_v1;
  cs.sts_endpoint = settings.sts_endpoint;
  cs.region = out.region;
  auto provider = resolve_credentials(cs, env, settings.credential_http);
  if (!provider) {
    return fail(provider.error().code, fmt::format("{} for {}", provider.error().message, where_text));
  }
  out.credential_source = std::move(*provider);
  if (auto first = out.credential_source->current()) out.credentials = std::move(*first);

  out.sse = settings.sse;
  out.sse_kms_key_id = settings.sse_kms_key_id;
  out.checksum = settings.checksum;
  if (!out.sse_kms_key_id.empty() && out.sse != sse_mode::aws_kms) {
    return fail(errc::config,
                "storage.sse_kms_key_id is set but server_side_encryption is not aws:kms; set "
                "server_side_encryption: aws:kms or remove the key id");
  }
  if (settings.part_size != 0) out.part_size = settings.part_size;
  if (settings.max_parallel_parts != 0) out.max_parallel_parts = settings.max_parallel_parts;
  if (settings.retry_budget.count() > 0) out.retry_budget = settings.retry_budget;
  if (settings.stall_timeout.count() > 0) out.stall_timeout = settings.stall_timeout;
  return out;
}

result<std::unique_ptr<object_store>> open_store(const location& where,
                                                 const store_settings& settings,
                                                 const env_lookup& env) {
  if (where.kind == backend_kind::filesystem) {
    if (where.path.empty()) {
      return fail(errc::config, "filesystem storage needs a path (storage.path)");
    }
    std::filesystem::path root(where.path);
    if (!where.prefix.empty()) root /= where.prefix;
    return std::unique_ptr<object_store>(std::make_unique<filesystem_store>(std::move(root)));
  }
  if (where.kind == backend_kind::azure) {
    auto options = azure::resolve_blob_options(where.account, where.container, where.prefix, where.endpoint,
                                               settings.azure, env);
    if (!options) return tl::unexpected(options.error());
    if (settings.azure_block_size != 0) options->block_size = settings.azure_block_size;
    if (settings.retry_budget.count() > 0) options->retry_budget = settings.retry_budget;
    if (settings.stall_timeout.count() > 0) options->stall_timeout = settings.stall_timeout;
    return azure::make_blob_store(std::move(*options));
  }
  if (where.kind == backend_kind::gcs) return gcs::open_gcs_store(where, settings, env);
  auto options = resolve_s3_options(where, settings, env);
  if (!options) return tl::unexpected(options.error());
  return make_s3_store(std::move(*options));
}

result<std::unique_ptr<object_store>> open_store(std::string_view url, const env_lookup& env) {
  auto where = parse_location(url);
  if (!where) return tl::unexpected(where.error());
  return open_store(*where, store_settings{}, env);
}

}  // namespace kb::storage
