// Azure storage locations: the azure:// URL forms (CONTAINER@ACCOUNT.blob.core.windows.net/prefix
// and ACCOUNT/CONTAINER/prefix?endpoint=...), the account's blob endpoint, and the choice of
// credentials (account key, SAS token, Azure AD) from settings and the environment.
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"
#include "base/url.hpp"
#include "storage/aws_credentials.hpp"
#include "storage/azure/ad_token.hpp"
#include "storage/azure/blob_store.hpp"

namespace kb::storage::azure {

/// What an azure:// URL names. `prefix` is not yet normalised.
struct azure_url {
  std::string account;
  std::string container;
  std::string prefix;
  std::string endpoint;  ///< from the host (CONTAINER@HOST form) or ?endpoint=; may be empty
};

/// Reads an azure:// URL's parts; `shown` is the URL as messages show it (redacted).
/// errc::invalid_argument naming the expected forms.
result<azure_url> parse_azure_url(const url::url_parts& parts, std::string_view shown);

/// Checks an account and a container name against Azure's rules; errc::config naming
/// storage.account_name / storage.container_name and the rule.
result<void> check_names(std::string_view account, std::string_view container);

/// The blob service URL of `account`: "https://ACCOUNT.blob.core.windows.net" without an
/// endpoint; an endpoint with a path or whose host starts with "ACCOUNT." is used as given;
/// any other (an emulator such as Azurite, "http://127.0.0.1:10000") gets "/ACCOUNT" appended.
std::string account_endpoint(std::string_view account, std::string_view endpoint);

/// Azure settings of a configuration (the reference tool's keys). Empty: from the environment
/// (AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, then Azure AD).
struct azure_settings {
  secret_string account_key;
  secret_string sas_token;
  bool use_workload_identity = false;
  std::string client_id;
  std::string tenant_id;
  secret_string client_secret;
  std::string encryption_scope;
  secret_string customer_key;
  std::string authority_host;  ///< Azure AD authority; empty: AZURE_AUTHORITY_HOST or the public cloud
  std::string imds_endpoint;   ///< managed identity; empty: AZURE_IMDS_ENDPOINT or 169.254.169.254
  std::string ca_file;         ///< extra trust anchors for an https endpoint (AZURE_CA_FILE)
  token_http http;             ///< for tests: the token endpoints' HTTP; empty: libcurl
};

/// The blob store options for a location: endpoint, credentials (account key → SAS token →
/// Azure AD, the AD source chosen like DefaultAzureCredential). errc::config for conflicting
/// or missing settings, errc::authorization when Azure AD refused a token.
result<blob_options> resolve_blob_options(std::string account, std::string container, std::string prefix,
                                          const std::string& endpoint, const azure_settings& settings,
                                          const env_lookup& env);

}  // namespace kb::storage::azure
