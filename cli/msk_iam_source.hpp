// SASL AWS_MSK_IAM wiring: the storage/ AWS credential chain handed to net/'s mechanism (net/
// cannot depend on storage/), with the region chosen from the config and the environment.
#pragma once

#include <memory>

#include "base/error.hpp"
#include "cli/config.hpp"
#include "net/sasl_msk_iam.hpp"

namespace kb::cli {

/// Resolves the AWS credential chain once (environment → shared files → web identity →
/// container → IMDS, as for S3) and returns the settings every broker connection signs with;
/// the chain refreshes temporary credentials before they expire. errc::config when no source
/// has credentials, errc::authorization when a configured source failed; never a secret.
[[nodiscard]] kb::result<std::shared_ptr<const net::msk_iam_settings>> msk_iam_settings_from(
    const security_config& s, const env_lookup& env);

}  // namespace kb::cli
