#include "storage/azure/blob_api.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "base/url.hpp"
#include "storage/azure/blob_response.hpp"
#include "storage/azure/shared_key.hpp"
#include "storage/http_retry.hpp"

namespace kb::storage::azure {

blob_api::blob_api(blob_options options)
    : options_(std::move(options)),
      transport_(http_transport_options{options_.connect_timeout, options_.stall_timeout, options_.ca_file}) {
  // make_blob_store checked the endpoint: requests go to its origin, under its path (Azurite's /ACCOUNT).
  origin_ = options_.endpoint;
  if (auto u = url::parse_http_url(options_.endpoint)) {
    options_.endpoint = u->text;
    origin_ = u->origin();
    endpoint_path_ = u->path;
  }
  if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
  if (!options_.sas_token.empty() && options_.sas_token.reveal().front() == '?') {
    options_.sas_token = secret_string(options_.sas_token.reveal().substr(1));
  }
}

std::string blob_api::describe() const {
  return fmt::format("azure://{}/{}/{}", options_.account, options_.container, options_.prefix);
}

std::string blob_api::container_path() const { return endpoint_path_ + "/" + options_.container; }

std::string blob_api::blob_path(std::string_view key) const {
  return container_path() + "/" + url_encode(options_.prefix + std::string(key), true);
}

std::string blob_api::auth_hint(const std::string& code) const {
  switch (options_.auth) {
    case auth_mode::shared_key:
      return fmt::format("check that storage.account_key (or AZURE_STORAGE_KEY) is a current key of storage "
                         "account '{}' (Access keys in the portal)",
                         options_.account);
    case auth_mode::sas:
      return "the SAS token is expired, not yet valid, revoked or lacks a permission (a backup needs racwdl on "
             "the container); create a new one (az storage container generate-sas --permissions racwdl ...) and "
             "set storage.sas_token";
    case auth_mode::bearer:
      if (code == "AuthorizationPermissionMismatch" || code == "AuthorizationFailure") {
        return fmt::format("grant the identity the 'Storage Blob Data Contributor' role on container '{}' "
                           "(docs/storage-azure.md)",
                           options_.container);
      }
      return "the Azure AD token was refused: check tenant_id and client_id and that the identity belongs to "
             "the storage account's tenant";
  }
  return {};
}

kb::error blob_api::to_error(const http_response_data& r, std::string_view method, std::string_view key) const {
  const std::string object = key.empty() ? describe() : fmt::format("'{}' in {}", key, describe());
  const std::string what = fmt::format("{} {}", method, object);
  if (r.failure != http_failure::none) {
    return http_failure_error(r, what, fmt::format("Azure Blob endpoint {}", options_.endpoint),
                              "storage.endpoint / the URL's endpoint=", options_.stall_timeout);
  }
  // A HEAD answer has no body: the code comes in x-ms-error-code then.
  error_body body = parse_error_body(r.body);
  if (body.code.empty()) body.code = r.header("x-ms-error-code");
  const std::string& code = body.code;
  const std::string detail = code.empty() ? fmt::format("HTTP {}", r.status)
                             : body.message.empty() ? fmt::format("HTTP {} {}", r.status, code)
                                                    : fmt::format("HTTP {} {}: {}", r.status, code, body.message);
  if (r.status == 401 || r.status == 403) {
    return {make_error_code(errc::authorization),
            fmt::format("Azure Blob storage refused {} (credentials: {}): {}; {}", what, options_.credential_source,
                        detail, auth_hint(code))};
  }
  if (r.status == 404) {
    if (code == "ContainerNotFound") {
      return {make_error_code(errc::config),
              fmt::format("container '{}' does not exist in Azure storage account '{}' at {} "
                          "(storage.container_name): create it (az storage container create --name {} "
                          "--account-name {}) or fix the name",
                          options_.container, options_.account, options_.endpoint, options_.container,
                          options_.account)};
    }
    if (code == "ResourceNotFound" || code == "AccountNotFound" || code == "InvalidResourceName") {
      return {make_error_code(errc::config),
              fmt::format("{}: {} (check storage.account_name and storage.container_name)", what, detail)};
    }
    return {make_error_code(errc::not_found), fmt::format("object {} not found", object)};
  }
  // 412 is a failed condition; of the 409s only BlobAlreadyExists is (If-None-Match: * lost a race).
  // Other 409s refuse the operation in the blob's state (a lease, a copy) or, on Azurite, for space.
  if (r.status == 412 || (r.status == 409 && (code.empty() || code == "BlobAlreadyExists"))) {
    return {make_error_code(errc::conflict),
            fmt::format("{}: a precondition failed ({}); the object already exists or changed", what, detail)};
  }
  if (r.status == 409 && code == "MemoryExtentStoreAtSizeLimit") {
    return {make_error_code(errc::io),
            fmt::format("{} was refused: {}; the Azurite emulator's in-memory store is full: start it with a "
                        "larger --extentMemoryLimit, or without --inMemoryPersistence",
                        what, detail)};
  }
  if (r.status == 409) {
    return {make_error_code(errc::io),
            fmt::format("{} was refused: {} (the blob or its container is in a state that does not allow it)", what,
                        detail)};
  }
  if (r.status == 416) {
    return {make_error_code(errc::invalid_argument),
            fmt::format("{}: the range is past the end of the object ({})", what, detail)};
  }
  if (r.status == 400 && (code == "InvalidHeaderValue" || code == "UnsupportedHeader")) {
    return {make_error_code(errc::config),
            fmt::format("{}: {}; the service does not accept a header we sent (encryption_scope / "
                        "customer key, or an old emulator without --skipApiVersionCheck)",
                        what, detail)};
  }
  return {make_error_code(errc::io), fmt::format("{} failed: {}", what, detail)};
}

result<http_response_data> blob_api::execute(const std::string& method, std::string_view key, const std::string& path,
                                             http_headers query, const http_headers& headers, byte_pieces body,
                                             byte_vector* download) {
  std::string query_text;
  for (const auto& [n, v] : query) {
    query_text += query_text.empty() ? "?" : "&";
    query_text += url_encode(n) + "=" + url_encode(v);
  }
  if (options_.auth == auth_mode::sas) {
    query_text += query_text.empty() ? "?" : "&";
    query_text += options_.sas_token.reveal();
  }
  const std::string url = origin_ + path + query_text;
  const std::string object = key.empty() ? describe() : fmt::format("'{}' in {}", key, describe());
  int attempt = 0;
  retrying_request r{"azure", method, object,
                     retry_settings{options_.initial_backoff, options_.max_backoff, options_.retry_budget,
                                    options_.max_attempts}};
  r.send = [&]() -> result<http_response_data> {
    http_headers all = headers;
    all.emplace_back("x-ms-date", rfc1123_date(options_.clock()));
    all.emplace_back("x-ms-version", std::string(blob_api_version));
    if (options_.auth == auth_mode::shared_key) {
      signing_request sr{method, path, query, all, pieces_size(body)};
      auto auth = shared_key_authorization(sr, options_.account, options_.account_key.reveal());
      if (!auth) return tl::unexpected(auth.error());
      all.emplace_back("Authorization", std::move(*auth));
    } else if (options_.auth == auth_mode::bearer) {
      auto token = options_.token->current();
      if (!token) return tl::unexpected(token.error());
      all.emplace_back("Authorization", "Bearer " + *token);
    }
    log::debug("azure: {} {}{} (attempt {})", method, origin_, path, ++attempt);
    http_request h{method, url, std::move(all), {}, download};
    for (const byte_view p : body)
      if (!p.empty()) h.body.push_back(p);
    return transport_.perform(h);
  };
  r.to_error = [&](const http_response_data& resp) { return to_error(resp, method, key); };
  return send_with_retries(r);
}

}  // namespace kb::storage::azure
