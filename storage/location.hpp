// Storage locations: parsing of storage URLs (plain path, file:///abs, s3://bucket/prefix?...,
// azure://..., gs://), prefix normalisation, credential lookup through an injected environment, and open_store().
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "storage/azure/blob_location.hpp"
#include "storage/object_store.hpp"
#include "storage/s3_store.hpp"
#include "storage/sigv4.hpp"

namespace kb::storage {

enum class backend_kind { filesystem, s3, azure, gcs };

/// Where a backup lives. The same place whether it came from a URL or from the config.
struct location {
  backend_kind kind = backend_kind::filesystem;
  std::string path;      ///< filesystem: the directory, as given (absolute or relative)
  std::string bucket;    ///< s3, gcs
  std::string account;   ///< azure: the storage account
  std::string container; ///< azure
  std::string prefix;    ///< normalised: "" or "a/b/" (never a leading '/')
  std::string endpoint;  ///< s3: "http://127.0.0.1:7070"; empty for AWS itself; azure: the blob service; gcs: empty for Google's
  std::string region;    ///< s3: empty means AWS_REGION / AWS_DEFAULT_REGION / us-east-1
  std::optional<bool> path_style;  ///< s3: unset means true with an endpoint, else false

  /// The canonical URL of this location: "/data/backups/prod/" or "s3://b/prod/?region=...".
  [[nodiscard]] std::string to_url() const;
};

/// `prod`, `prod/`, `/prod/` and `//prod//` all become `prod/`; "" and "/" become "".
/// Fails with errc::invalid_argument on "." or ".." segments.
result<std::string> normalize_prefix(std::string_view prefix);

/// Parses a storage URL: a plain path, `file:///abs/path`, or
/// `s3://bucket/prefix?endpoint=http://h:p&region=r&path_style=true`. Unknown query keys are
/// an error (a typo must not silently change where data goes). Azure:
/// `azure://CONTAINER@ACCOUNT.blob.core.windows.net/prefix` or
/// `azure://ACCOUNT/CONTAINER/prefix?endpoint=http://127.0.0.1:10000`. GCS: `gs://bucket/prefix`
/// or `gcs://…` (?endpoint=).
result<location> parse_location(std::string_view url);

/// A `scheme://bucket/prefix?k=v&…` URL (s3://, gs://) read through Boost.URL: the bucket as
/// written, the decoded and normalised prefix, the decoded query pairs in order. Bucket rules are
/// the caller's.
struct bucket_url {
  std::string bucket;
  std::string prefix;
  std::vector<std::pair<std::string, std::string>> query;
};
result<bucket_url> split_bucket_url(std::string_view url);

/// The process environment (env_lookup is declared in storage/aws_credentials.hpp).
env_lookup process_environment();

/// What a configuration may add to a location. Empty credentials mean "from the credential
/// chain": environment, shared files, container endpoint, EC2 instance metadata.
struct store_settings {
  std::string access_key;
  secret_string secret_key;
  secret_string session_token;
  std::string credential_source = "auto";  ///< storage.credentials: auto|static|env|profile|web_identity|container|imds
  std::string imds_endpoint;               ///< storage.imds_endpoint; empty: the environment or the default
  bool imds_v1 = false;                    ///< storage.imds_v1: IMDSv1 allowed when IMDSv2 is refused
  std::string sts_endpoint;                ///< storage.sts_endpoint; empty: AWS_ENDPOINT_URL_STS or regional
  http_client credential_http;             ///< for tests: the identity endpoints' HTTP; empty: libcurl
  sse_mode sse = sse_mode::none;
  std::string sse_kms_key_id;
  std::size_t part_size = 0;           ///< 0: the default (8 MiB); minimum 5 MiB
  std::size_t max_parallel_parts = 0;  ///< 0: the default (4)
  upload_checksum checksum = upload_checksum::crc32c;
  std::chrono::milliseconds retry_budget{0};   ///< 0: the default (2 minutes)
  std::chrono::milliseconds stall_timeout{0};  ///< 0: the default (30 s)
  azure::azure_settings azure;                 ///< azure: credentials, encryption scope
  std::size_t azure_block_size = 0;            ///< azure: 0: the default (8 MiB)
  std::string gcs_service_account_path;        ///< gcs: storage.service_account_path
  std::string gcs_kms_key_name;                ///< gcs: storage.kms_key_name (CMEK)
  std::string gcs_metadata_endpoint;           ///< gcs: empty: GCE_METADATA_HOST or 169.254.169.254
};

/// The S3 client options for an s3 location: region (AWS_REGION, AWS_DEFAULT_REGION), endpoint
/// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) and credentials resolved through `env`, addressing
/// style, SSE. errc::config when credentials are missing or settings conflict.
result<s3_options> resolve_s3_options(const location& where, const store_settings& settings,
                                      const env_lookup& env);

/// Opens the store a location names.
result<std::unique_ptr<object_store>> open_store(const location& where,
                                                 const store_settings& settings,
                                                 const env_lookup& env);
/// Parses `url` and opens it with settings from the environment only.
result<std::unique_ptr<object_store>> open_store(std::string_view url, const env_lookup& env);

}  // namespace kb::storage
