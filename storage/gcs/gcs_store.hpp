// The GCS backend over the JSON API: multipart uploads (metadata + media, with a CRC32C the
// server checks), resumable uploads in chunks for large objects, ranged media downloads,
// listing with pageToken, ifGenerationMatch=0 for the lease, delete; bearer tokens from
// gcs::token_provider; retries with back-off on 408/429/5xx (storage/retry_policy).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "storage/gcs/gcs_credentials.hpp"
#include "storage/http_transport.hpp"
#include "storage/object_store.hpp"

namespace kb::storage::gcs {

/// Google's endpoint; `endpoint` or STORAGE_EMULATOR_HOST replaces it.
inline constexpr std::string_view default_endpoint = "https://storage.googleapis.com";
/// Resumable upload chunks must be multiples of this (all but the last).
inline constexpr std::size_t chunk_granularity = 256u << 10;

struct gcs_options {
  std::string bucket;
  std::string prefix;  ///< normalised ("" or "a/b/")
  std::string endpoint{default_endpoint};
  std::string kms_key_name;  ///< CMEK: projects/P/locations/L/keyRings/R/cryptoKeys/K
  std::shared_ptr<token_provider> tokens;
  std::size_t chunk_size = 8u << 20;  ///< resumable chunk; objects above it are uploaded in chunks
  std::size_t list_page_size = 1000;
  int max_attempts = 0;  ///< per request, including the first; 0: the budget alone limits
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds retry_budget{120000};
  std::chrono::milliseconds connect_timeout{10000};
  /// One attempt is abandoned (and retried) when no byte moved for this long.
  std::chrono::milliseconds stall_timeout{30000};
  std::string ca_file;
  http_send_fn http;  ///< empty: an http_transport with the limits above
};

/// Creates a GCS store; errc::config for invalid options. No request is sent until the first operation.
result<std::unique_ptr<object_store>> make_gcs_store(gcs_options options);

}  // namespace kb::storage::gcs
