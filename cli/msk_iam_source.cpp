#include "cli/msk_iam_source.hpp"

#include <string>
#include <utility>

#include "storage/aws_credentials.hpp"

namespace kb::cli {
namespace {

std::string non_empty(const env_lookup& env, const char* name) {
  auto v = env(name);
  return v && !v->empty() ? *v : std::string();
}

}  // namespace

kb::result<std::shared_ptr<const net::msk_iam_settings>> msk_iam_settings_from(const security_config& s,
                                                                              const env_lookup& env) {
  auto settings = std::make_shared<net::msk_iam_settings>();
  settings->region = s.sasl_aws_region.value_or("");
  settings->default_region = non_empty(env, "AWS_REGION");
  if (settings->default_region.empty()) settings->default_region = non_empty(env, "AWS_DEFAULT_REGION");
  settings->user_agent = std::string("kafka-backup/") + KB_VERSION;

  storage::credential_settings cs;  // "auto": the SDK order; no static keys in the Kafka section
  cs.user = "kafka AWS_MSK_IAM";
  cs.region = !settings->region.empty() ? settings->region : settings->default_region;
  auto provider = storage::resolve_credentials(cs, [&env](std::string_view name) { return env(name); });
  if (!provider) return fail(provider.error().code, "AWS_MSK_IAM: " + provider.error().message);
  settings->credentials = [chain = std::move(*provider)]() -> kb::result<net::msk_iam_credentials> {
    auto c = chain->current();
    if (!c) return fail(c.error());
    return net::msk_iam_credentials{c->access_key_id, net::secret(c->secret_access_key.reveal()),
                                    net::secret(c->session_token.reveal())};
  };
  return std::shared_ptr<const net::msk_iam_settings>(std::move(settings));
}

}  // namespace kb::cli
