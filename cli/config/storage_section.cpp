// `storage:`: the backend (filesystem, s3, azure, gcs), its location, credentials and tuning.
// A new key: a line in read_storage's table, a line in k_key_backends (which backends use it),
// and a line in storage_json under its backend.
#include <algorithm>
#include <array>

#include "base/url.hpp"
#include "cli/config/json_util.hpp"
#include "cli/config/sections.hpp"
#include "storage/aws_credentials.hpp"
#include "storage/gcs/gcs_location.hpp"

namespace kb::cli::config_detail {

namespace json = boost::json;

namespace {

/// Checked against storage's own list (storage/aws_credentials.hpp), so `config` refuses what
/// opening the store would, and a source added there is accepted here.
bool known_credential_source(std::string_view name) {
  std::string_view names = storage::credential_source_names;
  while (!names.empty()) {
    const auto comma = names.find(", ");
    if (names.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    names.remove_prefix(comma + 2);
  }
  return false;
}

}  // namespace

void read_storage(reader& r, const YAML::Node& node, const std::string& path, storage_config& s) {
  r.read_map(node, path, {
      {"backend", [&](const YAML::Node& v, const std::string& p) { assign(s.backend, r.enumeration(v, p, k_backends)); }},
      {"path", string_field(r, s.path)},
      {"bucket", string_field(r, s.bucket)},
      {"region", optional_string_field(r, s.region)},
      {"endpoint", optional_string_field(r, s.endpoint)},
      {"path_style", flag_field(r, s.path_style)},
      {"allow_http", flag_field(r, s.allow_http)},
      {"prefix", [&](const YAML::Node& v, const std::string& p) {
         if (auto text = r.string(v, p)) s.prefix = normalize_prefix(*text);
       }},
      {"access_key", secret_field(r, s.access_key)},
      {"access_key_id", secret_field(r, s.access_key)},
      {"secret_key", secret_field(r, s.secret_key)},
      {"secret_access_key", secret_field(r, s.secret_key)},
      {"session_token", secret_field(r, s.session_token)},
      {"credentials", string_field(r, s.credentials)},
      {"imds_endpoint", optional_string_field(r, s.imds_endpoint)},
      {"imds_v1", flag_field(r, s.imds_v1)},
      {"sts_endpoint", optional_string_field(r, s.sts_endpoint)},
      {"server_side_encryption", [&](const YAML::Node& v, const std::string& p) {
         assign(s.sse, r.enumeration(v, p, k_sse));
       }},
      {"sse_kms_key_id", optional_string_field(r, s.sse_kms_key_id)},
      {"upload_checksum", [&](const YAML::Node& v, const std::string& p) {
         assign(s.checksum, r.enumeration(v, p, k_upload_checksums));
       }},
      {"retry_budget_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(s.retry_budget_ms, r.integer<std::uint64_t>(v, p, 0, 86'400'000));
       }},
      {"stall_timeout_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(s.stall_timeout_ms, r.integer<std::uint64_t>(v, p, 1000, 3'600'000));
       }},
      {"account_name", string_field(r, s.account_name)},
      {"container_name", string_field(r, s.container_name)},
      {"account_key", secret_field(r, s.account_key)},
      {"sas_token", secret_field(r, s.sas_token)},
      {"use_workload_identity", flag_field(r, s.use_workload_identity)},
      {"client_id", optional_string_field(r, s.client_id)},
      {"tenant_id", optional_string_field(r, s.tenant_id)},
      {"client_secret", secret_field(r, s.client_secret)},
      {"encryption_scope", optional_string_field(r, s.encryption_scope)},
      {"customer_provided_key", secret_field(r, s.customer_provided_key)},
      {"service_account_path", optional_string_field(r, s.service_account_path)},
      {"kms_key_name", optional_string_field(r, s.kms_key_name)},
  });
}

void validate_storage(reader& r, const storage_config& s) {
  struct key_rule {
    std::string_view key;
    std::initializer_list<storage_backend> backends;
  };
  using sb = storage_backend;
  // Which backends use each key; a key set for another backend is warned about.
  static const key_rule rules[] = {
      {"path", {sb::filesystem}},
      {"bucket", {sb::s3, sb::gcs}},
      {"region", {sb::s3}},
      {"endpoint", {sb::s3, sb::azure, sb::gcs}},
      {"path_style", {sb::s3}},
      {"allow_http", {sb::s3, sb::azure, sb::gcs}},
      {"access_key", {sb::s3}},
      {"access_key_id", {sb::s3}},
      {"secret_key", {sb::s3}},
      {"secret_access_key", {sb::s3}},
      {"session_token", {sb::s3}},
      {"credentials", {sb::s3}},
      {"imds_endpoint", {sb::s3, sb::azure}},
      {"imds_v1", {sb::s3}},
      {"sts_endpoint", {sb::s3}},
      {"server_side_encryption", {sb::s3}},
      {"sse_kms_key_id", {sb::s3}},
      {"upload_checksum", {sb::s3}},
      {"retry_budget_ms", {sb::s3, sb::azure, sb::gcs}},
      {"stall_timeout_ms", {sb::s3, sb::azure, sb::gcs}},
      {"account_name", {sb::azure}},
      {"container_name", {sb::azure}},
      {"account_key", {sb::azure}},
      {"sas_token", {sb::azure}},
      {"use_workload_identity", {sb::azure}},
      {"client_id", {sb::azure}},
      {"tenant_id", {sb::azure}},
      {"client_secret", {sb::azure}},
      {"encryption_scope", {sb::azure}},
      {"customer_provided_key", {sb::azure}},
      {"service_account_path", {sb::gcs}},
      {"kms_key_name", {sb::gcs}},
      {"prefix", {sb::filesystem, sb::s3, sb::azure, sb::gcs}},
  };
  for (const auto& rule : rules) {
    const auto key_path = fmt::format("storage.{}", rule.key);
    if (!r.seen(key_path)) continue;
    if (std::find(rule.backends.begin(), rule.backends.end(), s.backend) == rule.backends.end()) {
      r.warn_at(key_path, fmt::format("ignored with backend {}", name_of(k_backends, s.backend)));
    }
  }
  switch (s.backend) {
    case sb::filesystem:
      if (s.path.empty()) {
        r.error_at("storage.path", "backend filesystem needs path (a directory, e.g. ./kafka-backups)");
      }
      break;
    case sb::s3:
      if (s.bucket.empty()) r.error_at("storage.bucket", "backend s3 needs bucket");
      if (s.access_key.empty() != s.secret_key.empty() && r.seen("storage.access_key") != r.seen("storage.secret_key")) {
        r.error_at(s.access_key.empty() ? "storage.secret_key" : "storage.access_key",
                   "access_key and secret_key go together (or leave both out to use the AWS_* "
                   "environment variables)");
      }
      if (!known_credential_source(s.credentials)) {
        r.error_at("storage.credentials",
                   fmt::format("unknown value '{}'; allowed: {}", s.credentials.substr(0, 80),
                               storage::credential_source_names));
      }
      if (s.sse_kms_key_id && s.sse != server_side_encryption::aws_kms) {
        r.error_at("storage.sse_kms_key_id", "needs server_side_encryption: aws:kms");
      }
      break;
    case sb::azure:
      if (s.account_name.empty()) r.error_at("storage.account_name", "backend azure needs account_name");
      if (s.container_name.empty()) r.error_at("storage.container_name", "backend azure needs container_name");
      break;
    case sb::gcs:
      if (s.bucket.empty()) {
        r.error_at("storage.bucket", "backend gcs needs bucket");
      } else if (!storage::gcs::valid_bucket_name(s.bucket)) {
        r.error_at("storage.bucket", "is not a valid GCS bucket name (3-63 characters: a-z, 0-9, '-', '_', '.')");
      }
      if (s.kms_key_name && s.kms_key_name->rfind("projects/", 0) != 0) {
        r.error_at("storage.kms_key_name", "must be a Cloud KMS key name: "
                                           "projects/P/locations/L/keyRings/R/cryptoKeys/K");
      }
      break;
  }
  if (s.endpoint) {
    if (auto u = url::parse_http_url(*s.endpoint); !u) {
      r.error_at("storage.endpoint", "must be a URL starting with http:// or https:// (" + u.error().message + ")");
    }
  }
  if (s.sts_endpoint) {
    if (auto u = url::parse_http_url(*s.sts_endpoint); !u) {
      r.error_at("storage.sts_endpoint", "must be a URL starting with http:// or https:// (" + u.error().message + ")");
    }
  }
}

json::object storage_json(const storage_config& s) {
  json::object out;
  out["backend"] = to_string(s.backend);
  out["prefix"] = s.prefix;
  switch (s.backend) {
    case storage_backend::filesystem:
      out["path"] = s.path;
      break;
    case storage_backend::s3:
      out["bucket"] = s.bucket;
      out["region"] = optional_json(s.region);
      out["endpoint"] = optional_json(s.endpoint);
      out["path_style"] = s.path_style;
      out["allow_http"] = s.allow_http;
      out["access_key"] = secret_json(s.access_key);
      out["secret_key"] = secret_json(s.secret_key);
      out["session_token"] = secret_json(s.session_token);
      out["credentials"] = s.credentials;
      out["imds_endpoint"] = optional_json(s.imds_endpoint);
      out["imds_v1"] = s.imds_v1;
      out["sts_endpoint"] = optional_json(s.sts_endpoint);
      out["server_side_encryption"] = to_string(s.sse);
      out["sse_kms_key_id"] = optional_json(s.sse_kms_key_id);
      out["upload_checksum"] = to_string(s.checksum);
      out["retry_budget_ms"] = s.retry_budget_ms;
      out["stall_timeout_ms"] = s.stall_timeout_ms;
      break;
    case storage_backend::azure:
      out["account_name"] = s.account_name;
      out["container_name"] = s.container_name;
      out["endpoint"] = optional_json(s.endpoint);
      out["account_key"] = secret_json(s.account_key);
      out["sas_token"] = secret_json(s.sas_token);
      out["use_workload_identity"] = s.use_workload_identity;
      out["client_id"] = optional_json(s.client_id);
      out["tenant_id"] = optional_json(s.tenant_id);
      out["client_secret"] = secret_json(s.client_secret);
      out["encryption_scope"] = optional_json(s.encryption_scope);
      out["customer_provided_key"] = secret_json(s.customer_provided_key);
      out["imds_endpoint"] = optional_json(s.imds_endpoint);
      out["retry_budget_ms"] = s.retry_budget_ms;
      out["stall_timeout_ms"] = s.stall_timeout_ms;
      break;
    case storage_backend::gcs:
      out["bucket"] = s.bucket;
      out["endpoint"] = optional_json(s.endpoint);
      out["service_account_path"] = optional_json(s.service_account_path);
      out["kms_key_name"] = optional_json(s.kms_key_name);
      break;
  }
  return out;
}

}  // namespace kb::cli::config_detail
