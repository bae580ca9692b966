// The Azure Blob backend: Put Blob (If-None-Match for the lease), Put Block in parallel + Put
// Block List for large objects, ranged Get Blob, Get Blob Properties, List Blobs with NextMarker,
// Delete Blob; SharedKey, SAS or Azure AD bearer auth; encryption scope and customer-provided
// keys; retries with back-off on 408/429/5xx honouring Retry-After.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "storage/azure/ad_token.hpp"
#include "storage/object_store.hpp"
#include "storage/sigv4.hpp"

namespace kb::storage::azure {

enum class auth_mode { shared_key, sas, bearer };

struct blob_options {
  std::string account;
  std::string container;
  std::string prefix;    ///< normalised ("" or "a/b/")
  /// Where the account's blobs are served, without the container: "https://ACCOUNT.blob.core.windows.net"
  /// or, for emulators, "http://127.0.0.1:10000/devstoreaccount1".
  std::string endpoint;
  auth_mode auth = auth_mode::shared_key;
  secret_string account_key;             ///< shared_key: base64
  secret_string sas_token;               ///< sas: the query string, without a leading '?'
  std::shared_ptr<token_provider> token; ///< bearer
  std::string credential_source;         ///< for messages: "account key", "SAS token", the AD source
  std::string encryption_scope;          ///< x-ms-encryption-scope on writes
  secret_string customer_key;            ///< base64 AES-256 key: x-ms-encryption-key on writes and reads

  std::size_t block_size = 8u << 20;      ///< objects above this are uploaded as blocks
  std::size_t max_parallel_blocks = 4;    ///< Put Block requests in flight per writer
  std::size_t list_page_size = 5000;      ///< maxresults of List Blobs
  int max_attempts = 0;                   ///< per request, including the first; 0: the budget alone limits
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds retry_budget{120000};
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds stall_timeout{30000};
  std::string ca_file;
  std::function<std::chrono::system_clock::time_point()> clock;  ///< x-ms-date; default the system clock
};

/// The service version we speak (x-ms-version).
inline constexpr std::string_view blob_api_version = "2021-12-02";

/// "Sun, 06 Dec 2026 21:00:00 GMT".
std::string rfc1123_date(std::chrono::system_clock::time_point t);

/// errc::config for incomplete options (no account, container, endpoint or credential).
result<std::unique_ptr<object_store>> make_blob_store(blob_options options);

}  // namespace kb::storage::azure
